# METADATA
# title: Resource owner not allowed
# description: >-
#   allowed_resource_owners is set and the fine-grained token's resource owner is not in it: the token
#   reaches an account or organisation outside the ones this policy covers.
# related_resources:
#   - ref: https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/managing-your-personal-access-tokens#creating-a-fine-grained-personal-access-token
#     description: Creating a fine-grained personal access token (resource owner)
# custom:
#   id: resource-owner-not-allowed
#   severity: medium
#   remediation: Recreate the token for an allowed resource owner, or add the owner to allowed_resource_owners if it belongs there.
package tokencheck.rules["resource-owner-not-allowed"]

import data.tokencheck.lib

deny contains f if {
	count(data.tokencheck.config.allowed_resource_owners) > 0
	owner := input.token.resource_owner
	not lower(owner) in {lower(o) | some o in data.tokencheck.config.allowed_resource_owners}
	f := {
		"msg": sprintf("resource owner %s is not among the allowed owners [%s]", [owner, lib.join_sorted(data.tokencheck.config.allowed_resource_owners)]),
		"subject": owner,
	}
}
