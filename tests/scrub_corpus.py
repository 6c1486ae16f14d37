"""A labelled corpus of repair problem texts for the export's scrubbing (``scrub_problem``).

Each case is a problem text as repair cafés write them — English as in the Welsh and Canadian
releases, Norwegian as Sirkel's users write — with the personal data in it (``pii``: must
not survive) and the repair context that must (``keep``). The texts are made up in the style
of the published ORDS files; the names, numbers and addresses are fictitious (Ofcom's and
Nkom's drama ranges, example domains, test card numbers).

``python -m tests.scrub_corpus`` prints the figures that docs/scrubbing.md reports.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

from app.services.ords import scrub_problem


@dataclass(frozen=True)
class Case:
    text: str
    pii: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()


CORPUS: tuple[Case, ...] = (
    # --- English, repair context only ----------------------------------------------------
    Case("Morphy Richards 330215 kettle, lid hinge broken", keep=("330215",)),
    Case("Needs part number 427694 from the manufacturer", keep=("427694",)),
    Case("Laptop on win 10 1803, will not update past it", keep=("10 1803",)),
    Case("PSU input 300-400V, output dead", keep=("300-400V",)),
    Case("not working.no power at all", keep=("working.no power",)),
    Case("Dyson DC24 brush bar not spinning, belt 911961-01 worn", keep=("911961-01",)),
    Case("Hoover model 39100366 motor noisy", keep=("39100366",)),
    Case("iPhone 11, battery health 71%, bought 2019", keep=("71%", "2019")),
    Case("Toaster element open circuit, 230V 50Hz 900W", keep=("230V 50Hz 900W",)),
    Case("Sewing machine Singer 9960, bobbin case jammed", keep=("9960",)),
    Case("Bosch drill PSB 1800 LI-2, chuck loose", keep=("PSB 1800 LI-2",)),
    Case("HP LaserJet P1102w paper jam, firmware 20180320", keep=("20180320",)),
    Case("Radio from 1972, valves 6AQ5 and ECC83 replaced", keep=("1972", "6AQ5")),
    Case("Lamp rewired, 3 core flex 0.75mm, fuse 3A", keep=("0.75mm",)),
    Case("Kenwood Chef A901, gearbox grease dried out", keep=("A901",)),
    Case("Samsung TV UE40H6400 no picture, backlight LEDs", keep=("UE40H6400",)),
    Case("Xbox 360 red ring, serial 123456789012 on the back", keep=("123456789012",)),
    Case("Charger 19.5V 3.33A, cable frayed near plug", keep=("19.5V 3.33A",)),
    Case("Clock movement 12888 replaced, cost £4.99", keep=("12888", "£4.99")),
    Case("Vacuum 1600W, hose split at 30cm", keep=("1600W",)),
    Case("Microwave turntable motor 49TYZ-A2 replaced", keep=("49TYZ-A2",)),
    # --- English, with personal data -----------------------------------------------------
    Case("Owner asked to call back on 07700 900123 when done", pii=("07700 900123",)),
    Case("Ring Gwen on 029 2018 0960 about the toaster", pii=("029 2018 0960",)),
    Case("Landline 01632 960123, leave a message", pii=("01632 960123",)),
    Case("Contact +44 7700 900456 for collection", pii=("+44 7700 900456",)),
    Case("Tel: +44 (0)20 7946 0958, wants it back by Friday", pii=("+44 (0)20 7946 0958",)),
    Case("Email megan.jones@example.co.uk with the quote", pii=("megan.jones@example.co.uk",)),
    Case(
        "Manual at https://example.com/manuals/kettle.pdf page 4",
        pii=("https://example.com/manuals/kettle.pdf",),
    ),
    Case("See www.example.org/fix-it for the teardown", pii=("www.example.org/fix-it",)),
    Case(
        "Pictures on example.net/dave/photos, motor 12345 burnt",
        pii=("example.net/dave/photos",),
        keep=("12345",),
    ),
    Case("Canadian owner, call (555) 123-4567 evenings", pii=("(555) 123-4567",)),
    Case("Call 555-987-6543 for pickup, lamp switch fixed", pii=("555-987-6543",)),
    Case("Paid by card 4111 1111 1111 1111 by mistake", pii=("4111 1111 1111 1111",)),
    Case("Phone IMEI 356938035643809 blocked, screen ok", pii=("356938035643809",)),
    Case(
        "Bring back to jane_doe+repairs@example.com or 07700 900789",
        pii=("jane_doe+repairs@example.com", "07700 900789"),
    ),
    Case("Customer site www.example.com, model 8820 hinge", pii=("www.example.com",)),
    Case("Firmware from http://example.org/fw/v2.1.bin", pii=("http://example.org/fw/v2.1.bin",)),
    # --- Norwegian, repair context only --------------------------------------------------
    Case("Vannkoker Bosch TWK8613, lokket går ikke igjen", keep=("TWK8613",)),
    Case("Modell 54321678 fra Electrolux, pumpa ulyder", keep=("54321678",)),
    Case("Delenummer 00611474 bestilt, kostet 349 kr", keep=("00611474", "349 kr")),
    Case("Kjøpt 12.05.2019, garanti utløpt 2021", keep=("12.05.2019",)),
    Case("Støvsuger 2000 W, slangen sprukket", keep=("2000 W",)),
    Case("Symaskin Husqvarna 6000-serien, spolen låser", keep=("6000-serien",)),
    Case("Brukt fra 2015–2022 på hytta", keep=("2015–2022",)),  # noqa: RUF001 - an en dash
    Case("sjekk finn.no for deler, ellers kast", keep=("finn.no for deler",)),
    Case("Mobil med Android 13, lader ikke over 80 %", keep=("Android 13", "80 %")),
    Case("Kaffetrakter Moccamaster KBG 741, termostat byttet", keep=("KBG 741",)),
    Case("Ordre #123-456 hos produsenten, venter på del", keep=("#123-456",)),
    Case("Org.nr 923 609 016 står på garantibeviset", keep=("923 609 016",)),
    Case("EAN 7311271234567 på esken, batteri 3,7 V", keep=("7311271234567",)),
    Case("Lampe med E27-sokkel, 60 W, bryter løs", keep=("E27-sokkel",)),
    Case("Kostet 12 500 kr ny i 2020", keep=("12 500 kr",)),
    # --- Norwegian, with personal data ---------------------------------------------------
    Case("Ring Kari på 912 34 567 når den er klar", pii=("912 34 567",)),
    Case("tlf 22 12 34 56 (jobb), hentes fredag", pii=("22 12 34 56",)),
    Case("Eier: ola.nordmann@eksempel.no", pii=("ola.nordmann@eksempel.no",)),
    Case("SMS til +47 412 34 567 om pris", pii=("+47 412 34 567",)),
    Case("ring 0047 91234567 etter kl. 16", pii=("0047 91234567",)),
    Case("Betalt fra konto 1234.56.78903, vil ha kvittering", pii=("1234.56.78903",)),
    Case("Kontonr 1234 56 78903 for refusjon", pii=("1234 56 78903",)),
    Case("fnr 01019012345 sto på garantilappen", pii=("01019012345",)),
    Case("personnummer 010190 12345 skrevet på esken", pii=("010190 12345",)),
    Case(
        "Annonsen: finn.no/bap/forsale/ad.html?finnkode=123",
        pii=("finn.no/bap/forsale/ad.html?finnkode=123",),
    ),
    Case(
        "Se videoen https://www.youtube.com/watch?v=abc123 først",
        pii=("https://www.youtube.com/watch?v=abc123",),
    ),
    Case("min side kari-nordmann.no har bilder", pii=("kari-nordmann.no",)),
    Case(
        "Ring 934 56 789 eller skriv åse@øya.no, modell 54321 byttet",
        pii=("934 56 789", "åse@øya.no"),
        keep=("54321",),
    ),
)

PLACEHOLDER = re.compile(r"\[(?:e-mail|url|phone|number)\]")


@dataclass(frozen=True)
class Scores:
    cases: int
    pii: int
    removed: int  # personal data that did not survive
    placeholders: int  # everything the scrubber replaced
    keep: int
    kept: int  # repair context that survived

    @property
    def recall(self) -> float:
        return self.removed / self.pii

    @property
    def precision(self) -> float:
        """Of the replacements made, the share that replaced personal data."""
        return self.removed / self.placeholders if self.placeholders else 1.0

    @property
    def context_kept(self) -> float:
        return self.kept / self.keep


def score(corpus: tuple[Case, ...] = CORPUS) -> Scores:
    pii = removed = placeholders = keep = kept = 0
    for case in corpus:
        scrubbed = scrub_problem(case.text)
        pii += len(case.pii)
        removed += sum(item not in scrubbed for item in case.pii)
        placeholders += len(PLACEHOLDER.findall(scrubbed))
        keep += len(case.keep)
        kept += sum(item in scrubbed for item in case.keep)
    return Scores(len(corpus), pii, removed, placeholders, keep, kept)


def misses(corpus: tuple[Case, ...] = CORPUS) -> list[tuple[str, str]]:
    """(text, scrubbed) of every case whose personal data survived or context did not."""
    out = []
    for case in corpus:
        scrubbed = scrub_problem(case.text)
        wrong = any(item in scrubbed for item in case.pii) or any(
            item not in scrubbed for item in case.keep
        )
        extra = len(PLACEHOLDER.findall(scrubbed)) > len(case.pii)
        if wrong or extra:
            out.append((case.text, scrubbed))
    return out


if __name__ == "__main__":
    result = score()
    lines = [
        f"{result.cases} texts, {result.pii} pieces of personal data, {result.keep} of context",
        f"recall {result.recall:.3f}  precision {result.precision:.3f}  "
        f"context kept {result.context_kept:.3f}",
        *(f"  {text!r} -> {scrubbed!r}" for text, scrubbed in misses()),
    ]
    sys.stdout.write("\n".join(lines) + "\n")
