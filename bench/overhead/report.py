"""The overhead benchmark's Markdown table: each row against the floor of the same cell."""

from __future__ import annotations

FLOOR = "forwarder aiohttp (floor)"


def report(rows: list[dict[str, object]], ttfb: dict[str, float], rss_idle: dict[str, float],
           rss_loaded: dict[str, float], command: str, machine: str,
           load_before: tuple[float, float, float], load_after: tuple[float, float, float],
           note: str | None) -> None:
    print(f"# command: {command}")
    print(f"# {machine}; wrk (1 thread) on the same machine; load average before "
          f"{load_before[0]:.2f} / {load_before[1]:.2f} / {load_before[2]:.2f}, after "
          f"{load_after[0]:.2f} / {load_after[1]:.2f} / {load_after[2]:.2f}")
    print("| stream | conc | target | p50 | overhead p50 | overhead p99 | rps "
          "| CPU ms/req | CPU / floor | rps / floor | non-2xx |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        floor = next((b for b in rows if b["stream"] == r["stream"]
                      and b["concurrency"] == r["concurrency"] and b["target"] == FLOOR), None)
        cpu = float(r["cpu_ms_per_req"])  # type: ignore[arg-type]
        cpu_ratio = (f"{cpu / float(floor['cpu_ms_per_req']):.2f}"  # type: ignore[arg-type]
                     if floor and cpu else "–")
        rps_ratio = (f"{float(r['rps']) / max(float(floor['rps']), 1e-9):.2f}"  # type: ignore[arg-type]
                     if floor else "–")
        print(f"| {'yes' if r['stream'] else 'no'} | {r['concurrency']} | {r['target']} "
              f"| {r['p50_ms']:.2f} ms | {r['overhead_p50_ms']:.2f} ms "
              f"| {r['overhead_p99_ms']:.2f} ms | {r['rps']:.0f} "
              f"| {cpu:.3f} | {cpu_ratio} | {rps_ratio} | {r['non_2xx']:.0f} |")
    print()
    print("| target | streaming TTFB overhead p50 (c1) | RSS idle | RSS after load |")
    print("|---|---|---|---|")
    for name, extra in ttfb.items():
        print(f"| {name} | {extra:.2f} ms | {rss_idle[name]:.1f} MiB "
              f"| {rss_loaded[name]:.1f} MiB |")
    if note:
        print(note)
