"""The reference render worker (`avm worker run`, the optional extra `avm[worker]`).

The worker contract's client: it reaches the service over HTTP only (httpx) and imports none of the
service's code (an import-linter contract in pyproject.toml). client.py speaks the contract,
render.py makes the media (Pillow, the ffmpeg shipped by imageio-ffmpeg), runner.py walks the steps.
"""
