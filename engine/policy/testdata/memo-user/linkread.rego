# METADATA
# title: Replacement link inspected
# description: Reads the content of the replacement link, so it cannot be a placeholder.
# custom:
#   id: user-link-read
#   severity: low
#   remediation: None.
package tokencheck.rules["user-link-read"]

import data.tokencheck.lib

warn contains f if {
	input.token.type == "classic"
	count(lib.replacement.link) > 330
	f := {"msg": sprintf("long replacement link (%d)", [count(lib.replacement.link)]), "subject": "", "fix_url": lib.replacement.link}
}
