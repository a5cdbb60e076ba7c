# A program that grabs 200 MB of memory.
docker run -d --name hungry python:3.11-slim python3 -c "data = b'x' * (200 * 1024 * 1024); print('allocated')"
docker wait hungry
docker inspect --format 'exit={{.State.ExitCode}} oom={{.State.OOMKilled}}' hungry
