"""The one adapter for the population base (人口库): real-name verification of a name and citizen ID number
over our own signed HTTP contract (docs/population-base.md), behind which a provincial data-sharing platform
can be put. Nothing else talks to the population base.

Start from `PopulationClient.from_settings(settings)`; `verify()` answers a `VerifyResult` or raises
`PopulationUnavailable` (never a guessed answer).
"""

from population.client import PopulationClient, VerifyResult
from population.errors import PopulationRejected, PopulationUnavailable

__all__ = ["PopulationClient", "PopulationRejected", "PopulationUnavailable", "VerifyResult"]
