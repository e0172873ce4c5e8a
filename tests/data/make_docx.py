"""One-off (run from the repository root): tests/data/heron-station-guide.docx, written by
python-docx 1.2.0, then committed. Not run by the tests."""

from docx import Document

d = Document()
d.core_properties.title = "Heron Weather Station Guide"
d.add_paragraph("Heron Weather Station Guide", style="Title")
d.add_paragraph(
    "The Heron station measures temperature, humidity and wind on a rooftop mast and sends "
    "readings to a small server every minute."
)
d.add_heading("Installation", level=1)
d.add_paragraph("The station ships with a mast clamp, a solar panel and a data receiver.")
d.add_heading("Linux", level=2)
d.add_paragraph(
    "On Linux, install the receiver daemon with the command sudo apt install heron-receiver. "
    "The daemon listens on TCP port 7431 and writes its log to /var/log/heron.log."
)
d.add_heading("Windows", level=2)
d.add_paragraph(
    "On Windows, run HeronSetup.exe as administrator. The receiver then starts as a service "
    "named HeronRx each time the computer boots."
)
d.add_heading("Calibration", level=1)
d.add_paragraph("Each sensor is calibrated at the factory to the accuracy in this table.")
t = d.add_table(rows=1, cols=3)
for cell, text in zip(t.rows[0].cells, ["Sensor", "Range", "Accuracy"], strict=True):
    cell.text = text
for row in [
    ("Thermometer", "-40 to 60 °C", "±0.3 °C"),
    ("Hygrometer", "0 to 100 %", "±2 %"),
    ("Anemometer", "0 to 60 m/s", "±0.5 m/s"),
]:
    cells = t.add_row().cells
    for cell, text in zip(cells, row, strict=True):
        cell.text = text
d.add_paragraph("Recalibrate the hygrometer every 18 months with the salt test kit.")
d.add_heading("Troubleshooting", level=1)
d.add_heading("No readings", level=2)
d.add_paragraph(
    "If the display shows error E42, the antenna cable is loose: push it into the receiver "
    "until it clicks."
)
d.save("tests/data/heron-station-guide.docx")
