# An API that answers "pong" on port 3000, and a client that stays up.
docker run -d --name api busybox:1.35 sh -c 'mkdir -p /www && echo pong > /www/ping && httpd -f -p 3000 -h /www'
docker run -d --name client busybox:1.35 sleep 300
# The client calls the API by its name.
docker exec client wget -qO- http://api:3000/ping
