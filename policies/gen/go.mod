module github.com/tokencheck/tokencheck/policies/gen

go 1.26.0
