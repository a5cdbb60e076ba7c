# Build the greeter and publish it in the sandbox's registry.
docker build -t greeter .
docker tag greeter localhost:5000/team/greeter
docker push localhost:5000/team/greeter
