from citycam.cli import app

app()
