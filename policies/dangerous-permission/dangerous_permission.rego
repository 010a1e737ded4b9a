# METADATA
# title: Dangerous fine-grained permission
# description: >-
#   A fine-grained grant at write or admin of a permission in the configured dangerous set
#   (dangerous_permissions): administration, workflows, secrets, organization_administration,
#   members, organization_secrets, repository_hooks, organization_hooks by default. Each lets a
#   leaked token change who can do what, or exfiltrate secrets.
# related_resources:
#   - ref: https://docs.github.com/en/rest/authentication/permissions-required-for-fine-grained-personal-access-tokens
#     description: Permissions required for fine-grained personal access tokens
# custom:
#   id: dangerous-permission
#   severity: high
#   remediation: >-
#     Lower the permission to read, or to no access, if the integration does not change these
#     resources; otherwise give this token the shortest lifetime and fewest repositories that work.
package tokencheck.rules["dangerous-permission"]

import data.tokencheck.lib

deny contains f if {
	some name, level in lib.permissions
	name in data.tokencheck.config.dangerous_permissions
	lib.level_at_least(level, "write")
	f := {"msg": sprintf("dangerous permission %s:%s", [name, level]), "subject": name}
}
