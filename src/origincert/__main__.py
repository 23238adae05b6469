from origincert.cli.main import run

run()
