import os

print("The shop is open. Files in /app:", ", ".join(sorted(os.listdir("/app"))))
