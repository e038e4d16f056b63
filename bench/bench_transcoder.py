"""The library's JSONTranscoder against MsgspecTranscoder on this domain's real events, side by side.

Events are made by the aggregates themselves (a project created, configured, given a story of
20 scenes, a job queued, a user registered) and turned into their stored state the way the
mapper does (`Mapper.to_stored_event` without the transcoding, then `transcoder.encode`).
Each transcoder encodes and decodes every event; rounds alternate between the two so that
machine noise hits both. Results go to bench/results/transcoder.json.

    python bench/bench_transcoder.py [--rounds 7] [--repeat 2000]
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domain.jobs import Job  # noqa: E402
from domain.projects import Project  # noqa: E402
from domain.users import User  # noqa: E402
from eventstore.transcoder import MsgspecTranscoder  # noqa: E402

TENANT = "8f14e45f-ceea-467f-a0e6-2b8c8f2f4c1e"
STORY = "\n\n".join(
    f"Scene {i}: the night train leaves the station at {i} o'clock; rain on the windows, "
    f"a conductor in a blue coat checks tickets, and somewhere a cat — 猫 — is asleep." for i in range(20))


def sample_events() -> dict[str, Any]:
    """Event states by name, as the mapper hands them to the transcoder."""
    project = Project.create(tenant_id=TENANT, title="Night train", description="A short film.")
    events = list(project.collect_events())
    project.reconfigure({"aspect_ratio": "9:16"})
    project.set_story(STORY)
    events += project.collect_events()
    job = Job(tenant_id=TENANT, project_id=str(project.id), config=dict(project.config),
              estimate={"credits": 12.5, "seconds": 95}, priority=5, max_attempts=3, timeout_seconds=600,
              queued_at="2026-12-04T17:31:34+00:00")
    events += job.collect_events()
    user = User.register(email="ada@example.com", name="Ada", role="premium")
    events += user.collect_events()
    states = {}
    for event in events:
        state = dict(event.__dict__)
        state.pop("originator_id")
        state.pop("originator_version")
        states[type(event).__qualname__] = state
    return states


def transcoders() -> dict[str, JSONTranscoder]:
    out: dict[str, JSONTranscoder] = {"json (library)": JSONTranscoder(), "msgspec (ours)": MsgspecTranscoder()}
    for t in out.values():
        for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
            t.register(transcoding)
    return out


def per_call_us(fn: Any, arg: Any, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn(arg)
    return (time.perf_counter() - start) / repeat * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "transcoder.json"))
    args = parser.parse_args()

    states = sample_events()
    ts = transcoders()
    library = ts["json (library)"]
    results: dict[str, dict[str, Any]] = {}
    for name, state in states.items():
        data = library.encode(state)
        best: dict[str, dict[str, float]] = {k: {"encode_us": float("inf"), "decode_us": float("inf")} for k in ts}
        for _ in range(args.rounds):
            for label, t in ts.items():  # alternating: noise hits both
                best[label]["encode_us"] = min(best[label]["encode_us"], per_call_us(t.encode, state, args.repeat))
                best[label]["decode_us"] = min(best[label]["decode_us"], per_call_us(t.decode, data, args.repeat))
        ours = best["msgspec (ours)"]
        theirs = best["json (library)"]
        results[name] = {
            "bytes": len(data),
            **{f"{label}: {k}": round(v, 2) for label, b in best.items() for k, v in b.items()},
            "encode speed-up": round(theirs["encode_us"] / ours["encode_us"], 2),
            "decode speed-up": round(theirs["decode_us"] / ours["decode_us"], 2),
        }

    out = {"machine": platform.platform(), "python": sys.version.split()[0], "rounds": args.rounds,
           "repeat": args.repeat, "method": "best of the rounds, transcoders alternating", "events": results}
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    width = max(map(len, results))
    print(f"{'event':<{width}}  bytes  json enc/dec µs  msgspec enc/dec µs  speed-up enc/dec")
    for name, r in results.items():
        print(f"{name:<{width}}  {r['bytes']:>5}  {r['json (library): encode_us']:>6.2f} / {r['json (library): decode_us']:<6.2f}"
              f"  {r['msgspec (ours): encode_us']:>6.2f} / {r['msgspec (ours): decode_us']:<6.2f}"
              f"     ×{r['encode speed-up']:.2f} / ×{r['decode speed-up']:.2f}")


if __name__ == "__main__":
    main()
