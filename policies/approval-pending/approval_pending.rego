# METADATA
# title: Awaiting organisation approval
# description: >-
#   The organisation has not yet approved the fine-grained token. Until it does the token reads only
#   public resources, and an approver should judge whether the request is needed as asked.
# related_resources:
#   - ref: https://docs.github.com/en/organizations/managing-programmatic-access-to-your-organization/managing-requests-for-personal-access-tokens-in-your-organization
#     description: Managing requests for personal access tokens in your organisation
# custom:
#   id: approval-pending
#   severity: medium
#   remediation: Review the request (reason, permissions, repositories, lifetime) and approve or deny it.
package tokencheck.rules["approval-pending"]

import data.tokencheck.lib

deny contains f if {
	input.token.approval == "pending" # on input directly: the rule index skips this rule for other tokens
	f := {"msg": "token is waiting for organisation approval", "subject": ""}
}
