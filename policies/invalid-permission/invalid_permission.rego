# METADATA
# title: Permission or level GitHub does not accept
# description: >-
#   A declared fine-grained permission name GitHub does not define, or a level the permission does
#   not accept (metadata is read-only, gists and workflows are write-only, only a few organisation
#   permissions take admin). GitHub rejects such a template link, and a declaration with it is
#   wrong. Names GitHub itself reported (live answers, header dumps, organisation audits) are real
#   by definition: one the catalogue lacks is a catalogue-outdated notice instead.
# related_resources:
#   - ref: https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/managing-your-personal-access-tokens#creating-a-fine-grained-personal-access-token
#     description: Creating a fine-grained personal access token (template-link parameters)
# custom:
#   id: invalid-permission
#   severity: high
#   remediation: Use a permission name and level from GitHub's template-link table (tokencheck explain invalid-permission lists the docs).
package tokencheck.rules["invalid-permission"]

import data.tokencheck.lib

deny contains f if {
	not lib.from_github
	some name, level in lib.permissions
	not lib.permission_accepts(name, level)
	f := {"msg": message(name, level), "subject": name}
}

message(name, level) := sprintf("unknown permission %s", [name]) if not lib.permission_defined(name)

message(name, level) := sprintf("permission %s does not accept level %s (accepts %s)", [name, level, concat(", ", levels(name))]) if lib.permission_defined(name)

levels(name) := [l | some perms in data.tokencheck.catalog.permissions; some l in perms[name]]
