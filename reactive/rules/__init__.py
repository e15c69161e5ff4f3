"""Row-level rules: per-table ``read`` / ``read_filter`` / ``insert`` / ``modify`` / ``delete``
rules and hidden fields, applied by a wrapper of ``ctx.db`` on every read and write.

`definitions` (declaring: `TableRules`, `Rules`, the project's `rules`) < `checks` (one call's
evaluation of a set) < `reader` (`RulesReader`) < `writer` (`RulesWriter`) < `install`
(`wrap_db`, and the default set applied to every public query and mutation). See docs/rules.md.
"""

from __future__ import annotations

from .definitions import Policy, Rules, TableRules, rules
from .install import wrap_db
from .reader import RulesReader
from .writer import RulesWriter

__all__ = ["Policy", "Rules", "RulesReader", "RulesWriter", "TableRules", "rules", "wrap_db"]
