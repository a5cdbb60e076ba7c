docker volume create shared
docker run --name producer -v shared:/out busybox:1.35 sh -c 'echo "made by producer" > /out/message.txt'
# The same volume, read-only: the consumer can read the message but not change it.
docker run --name consumer -v shared:/in:ro busybox:1.35 cat /in/message.txt
