# 64 MiB and no swap (--memory-swap is memory plus swap), half a CPU.
docker run -d --name hungry --memory 64m --memory-swap 64m --cpus 0.5 python:3.11-slim python3 -c "data = b'x' * (200 * 1024 * 1024); print('allocated')"
docker wait hungry
docker inspect --format 'exit={{.State.ExitCode}} oom={{.State.OOMKilled}}' hungry
