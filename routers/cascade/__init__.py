"""FrugalGPT's cascade, live: answer scorer, exact threshold search, orchestrator, CLI."""
