"""Routing datasets: RouterBench wide format, loaders for public outcome files, splits."""

from routers.datasets.format import RoutingDataset, concat
from routers.datasets.llmrouter import llmrouter_catalog, load_llmrouter
from routers.datasets.routellm import load_routellm_gsm8k, load_routellm_mmlu
from routers.datasets.routerbench import (
    DatasetFormatError,
    from_records,
    load_routerbench,
    save_routerbench,
)
from routers.datasets.split import remove_overlap, split
from routers.datasets.text import embedding_text, messages_embedding_text, normalise, text_hash

__all__ = [
    "DatasetFormatError",
    "RoutingDataset",
    "concat",
    "embedding_text",
    "from_records",
    "llmrouter_catalog",
    "load_llmrouter",
    "load_routellm_gsm8k",
    "load_routellm_mmlu",
    "load_routerbench",
    "messages_embedding_text",
    "normalise",
    "remove_overlap",
    "save_routerbench",
    "split",
    "text_hash",
]
