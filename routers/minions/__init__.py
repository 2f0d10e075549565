"""Local-remote collaboration on long documents (Minion and MinionS, Narayan et al. 2025).

The gateway builds these through `build_minions(kind, **options)`; see README.md here for
the document convention, the protocols and every option.
"""
