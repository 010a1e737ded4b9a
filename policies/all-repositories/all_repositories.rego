# METADATA
# title: Fine-grained token with access to all repositories
# description: >-
#   The fine-grained token can reach every repository of its resource owner, including ones created
#   later. Most integrations need a named few.
# related_resources:
#   - ref: https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/managing-your-personal-access-tokens#creating-a-fine-grained-personal-access-token
#     description: Creating a fine-grained personal access token (repository access)
# custom:
#   id: all-repositories
#   severity: medium
#   remediation: Regenerate the token with "Only select repositories" and list the repositories the integration uses.
package tokencheck.rules["all-repositories"]

import data.tokencheck.lib

deny contains f if {
	input.token.repository_selection == "all" # on input directly: indexed
	lib.is_fine_grained
	f := {
		"msg": sprintf("token can access all repositories of %s", [object.get(input.token, "resource_owner", "its resource owner")]),
		"subject": "",
	}
}
