# HOST_ADDRESS:HOST_PORT:CONTAINER_PORT: only this machine's loopback reaches port 8080.
docker run -d --name web -p 127.0.0.1:8080:80 busybox:1.35 sh -c 'mkdir -p /www && echo "hello from web" > /www/index.html && httpd -f -p 80 -h /www'
docker port web
