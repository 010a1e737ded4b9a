# METADATA
# title: Organisation denied the token
# description: >-
#   The organisation denied the fine-grained token's request, yet it is still declared or in use: the
#   integration does not work as declared, or works around the decision.
# related_resources:
#   - ref: https://docs.github.com/en/organizations/managing-programmatic-access-to-your-organization/managing-requests-for-personal-access-tokens-in-your-organization
#     description: Managing requests for personal access tokens in your organisation
# custom:
#   id: approval-denied
#   severity: high
#   remediation: Remove the declaration and revoke the token, or request access again with what the organisation allows.
package tokencheck.rules["approval-denied"]

import data.tokencheck.lib

deny contains f if {
	input.token.approval == "denied" # on input directly: the rule index skips this rule for other tokens
	f := {"msg": "organisation denied this token", "subject": ""}
}
