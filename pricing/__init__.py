"""Everything costroute knows about what a request costs, before and after it runs."""

from pricing.catalog import CatalogError, PriceCatalog
from pricing.estimate import CostEstimate, Estimator, OutputLengthTracker
from pricing.prices import ModelPrice
from pricing.tokenizers import Tokenizer, TokenizerRegistry, count_messages
from pricing.usage import Usage, cost_usd

__all__ = [
    "CatalogError",
    "CostEstimate",
    "Estimator",
    "ModelPrice",
    "OutputLengthTracker",
    "PriceCatalog",
    "Tokenizer",
    "TokenizerRegistry",
    "Usage",
    "cost_usd",
    "count_messages",
]
