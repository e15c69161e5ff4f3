"""Row-level rules: per-table ``read`` / ``read_filter`` / ``insert`` / ``modify`` / ``delete``
rules and hidden fields, applied by a wrapper of ``ctx.db`` on every read and write.

`ruleset` (declaring: `TableRules`, `Rules`, the project's `rules`) < `evaluation` (one call's
view of a set) < `reading` (`RulesReader`) < `writing` (`RulesWriter`) < `install`
(`wrap_db`, and the default set applied to every public query and mutation). See docs/rules.md.
"""

from __future__ import annotations

from .install import wrap_db
from .reading import RulesReader
from .ruleset import Policy, Rules, TableRules, rules
from .writing import RulesWriter

__all__ = ["Policy", "Rules", "RulesReader", "RulesWriter", "TableRules", "rules", "wrap_db"]
