import platform

print(f"Hello from a container! This is Python {platform.python_version()}.")
