"""Offline and live evaluation: cost-of-pass, the frontier, and router cost-quality curves.

Modules, by job:
    metrics      accuracy, mean cost, cost-of-pass, bootstrap intervals, frontier (Erol et al.)
    curves       non-decreasing convex hull, AIQ (RouterBench), PGR/APGR/CPT (RouteLLM)
    sweep        Choices/Outcomes steps and the ReplayableRouter protocol candidates implement
    baselines    single models, oracle, random mixture, per-task lookup
    registry     router/cascade artifacts by manifest kind; precomputed: recorded decisions
    replay       candidates -> curves; scoring: curves -> per-task and pooled results
    paired       a router's AIQ gain over the per-task lookup, paired bootstrap over prompts
    report*      report.json, report.md, plots; cli: `costroute eval replay|live`
    live*        live runs through a gateway with graders and an on-disk response cache
"""
