package acme.helpers

is_bot(name) if endswith(name, "-bot")

is_bot(name) if endswith(name, "[bot]")
