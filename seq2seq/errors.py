"""The one exception type for mistakes a user can fix (config, files, input, checkpoints)."""


class UserError(Exception):
    """A user-fixable problem; its message is one line naming the key or file:line and the fix."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))
