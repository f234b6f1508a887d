"""A broken rule as data. The rules say which field and which rule; each caller words it for
its reader (an admin's form, a command's output, the token inspector)."""

import dataclasses
from collections.abc import Iterable
from typing import Any


@dataclasses.dataclass(frozen=True)
class Problem:
    field: str
    code: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict, hash=False)

    def __str__(self) -> str:
        """For logs and exception messages; people read `wording.describe` instead."""
        details = ", ".join(f"{name}={value!r}" for name, value in self.params.items())
        return f"{self.field}: {self.code}" + (f" ({details})" if details else "")


class InvalidProject(ValueError):
    """The project breaks at least one rule."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("; ".join(map(str, self.problems)))

    def fields(self) -> set[str]:
        return {problem.field for problem in self.problems}
