# A web server on port 80 inside the container, published on the host's port 8080.
docker run -d --name web -p 80:8080 busybox:1.35 sh -c 'mkdir -p /www && echo "hello from web" > /www/index.html && httpd -f -p 80 -h /www'
docker port web
