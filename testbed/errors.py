"""Errors a user can cause and fix; the CLI prints them as lines and exits with status 2."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in user input (file, field, option): one line per problem, no traceback."""

    def __init__(self, problems: str | list[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class SetupError(Exception):
    """A step of the environment set-up (image build, Docker) failed; names the step."""

    def __init__(self, step: str, reason: str) -> None:
        self.step = step
        self.reason = reason
        super().__init__(f"{step} failed: {reason}")
