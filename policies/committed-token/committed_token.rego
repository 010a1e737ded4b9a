# METADATA
# title: Token value committed to the repository
# description: >-
#   A real-looking GitHub token (a known prefix and, for the 36-character kinds, a valid checksum) is
#   written in a file: in an inventory field or key, Markdown, a .env file or anything else check
#   reads. Everyone who can read the repository, its forks and its history can use it. tokencheck
#   names the token's type and last four characters only.
# related_resources:
#   - ref: https://docs.github.com/en/code-security/secret-scanning/about-secret-scanning
#     description: About secret scanning
#   - ref: https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/token-expiration-and-revocation
#     description: Token expiration and revocation
# custom:
#   id: committed-token
#   severity: critical
#   remediation: >-
#     Revoke the token now (removing the line does not help: it stays in the history), create a
#     replacement, keep it in a secret store (an Actions secret, a vault), and remove the value from
#     the file.
package tokencheck.rules["committed-token"]

deny contains f if {
	input.token.source.kind == "committed_value" # on input directly: the rule index skips this rule for other tokens
	f := {"msg": sprintf("%s token value ending %s is committed in this file", [input.token.type, input.token.last_four])}
}
