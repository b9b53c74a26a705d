"""The one error type the tools raise for a start-up that cannot go on: the CLI prints its message alone
(what failed, where, what to do) and exits non-zero; `--debug` shows the traceback as well."""


class StartupError(RuntimeError):
    """A failure the user fixes: the message says what failed, where and what to do."""
