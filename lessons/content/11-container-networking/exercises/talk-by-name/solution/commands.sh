# On a user-defined network, Docker's DNS resolves each container's name.
docker network create appnet
docker run -d --name api --network appnet busybox:1.35 sh -c 'mkdir -p /www && echo pong > /www/ping && httpd -f -p 3000 -h /www'
docker run -d --name client --network appnet busybox:1.35 sleep 300
docker exec client wget -qO- http://api:3000/ping
