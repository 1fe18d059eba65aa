"""Commands of this group are added by their own module; none yet."""

COMMANDS: list = []
