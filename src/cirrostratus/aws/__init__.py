"""The AWS side: build, deploy and the Lambda handlers, a shell over the engine's rules."""
