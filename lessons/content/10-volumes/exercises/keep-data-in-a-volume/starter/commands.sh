# Write a note in one container, remove it, then read the note from another.
docker run --name writer busybox:1.35 sh -c 'mkdir -p /data && echo "remember the milk" > /data/note.txt'
docker rm writer
docker run --name reader busybox:1.35 cat /data/note.txt
