//go:build !linux

package main

// prefaultHeap does nothing outside Linux, which alone has MADV_POPULATE_WRITE.
func prefaultHeap(int) {}
