from secreview.cli import console

console()
