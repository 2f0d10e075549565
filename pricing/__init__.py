"""Everything costroute knows about what a request costs, before and after it runs."""

from pricing.catalog import CatalogError, PriceCatalog, UnknownModelError
from pricing.estimate import CostEstimate, Estimator, OutputLengthTracker, relative_error
from pricing.prices import ModelPrice
from pricing.tenant_premium import PremiumPaid, premium_paid
from pricing.tokenizers import Tokenizer, TokenizerRegistry, count_messages
from pricing.usage import Usage, cost_usd, streamed_usage

__all__ = [
    "CatalogError",
    "CostEstimate",
    "Estimator",
    "ModelPrice",
    "OutputLengthTracker",
    "PremiumPaid",
    "PriceCatalog",
    "Tokenizer",
    "TokenizerRegistry",
    "UnknownModelError",
    "Usage",
    "cost_usd",
    "count_messages",
    "premium_paid",
    "relative_error",
    "streamed_usage",
]
