# Build version 1.0 and give it its name in the registry.
docker build -t greeter:1.0 .
docker tag greeter:1.0 localhost:5000/team/greeter:1.0
docker push localhost:5000/team/greeter:1.0

# Forget the local copy, so that the only one left is in the registry, and pull it back by its tag.
docker rmi greeter:1.0 localhost:5000/team/greeter:1.0
docker pull localhost:5000/team/greeter:1.0

# The digest the push printed is the one the pull resolved: the same bytes.
docker images --digests localhost:5000/team/greeter
docker inspect --format '{{json .RepoDigests}}' localhost:5000/team/greeter:1.0

docker run --name greeter localhost:5000/team/greeter:1.0
