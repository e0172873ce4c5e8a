"""One-off (run from the repository root with pypdf and Pillow installed): the bad PDFs under
tests/data/bad, then committed. Not run by the tests."""

from PIL import Image, ImageDraw
from pypdf import PdfReader, PdfWriter

img = Image.new("RGB", (600, 200), "white")
ImageDraw.Draw(img).text((20, 80), "A scanned page: pixels only, no text layer.", fill="black")
img.save("tests/data/bad/scanned.pdf", "PDF", resolution=72)

w = PdfWriter()
w.add_page(PdfReader("tests/data/shared-mime-info-spec.pdf").pages[0])
w.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
with open("tests/data/bad/encrypted.pdf", "wb") as fh:
    w.write(fh)
