"""A labelled set for Norwegian free-text search: listings as people write them, and queries
with the listings a person searching would want to see (docs/search.md reports the results).

How the relevant sets are judged: a listing is relevant to a query when it *is* what the query
names (or is a set of them): ``sykkel`` wants bikes of every kind and a bike repair service,
not a bike helmet, a bike rack or an exercise bike; ``bok`` wants books, not a bookcase. A
listing that only mentions the word in passing (a rack that "takes three bikes") is not
relevant. A few relevant listings never use the query's word at all (Lego for ``leker``): they
are there on purpose, to show what word matching cannot do.

Typos and synonyms are out of scope; inflection, definite forms, compounds, hyphenated words,
and the letters æ, ø and å are what the set tests.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CorpusListing:
    key: str
    title: str
    description: str
    category: str
    kind: str = "item"


@dataclass(frozen=True)
class LabelledQuery:
    q: str
    relevant: frozenset[str]
    note: str = ""


def _listings(*rows: tuple[str, str, str, str]) -> tuple[CorpusListing, ...]:
    return tuple(
        CorpusListing(key, title, description, category)
        for key, title, description, category in rows
    )


LISTINGS: tuple[CorpusListing, ...] = (
    *_listings(
        # Bikes
        (
            "barnesykkel",
            "Barnesykkel 20 tommer",
            "Rød barnesykkel med støttehjul, passer 5-7 år.",
            "childrens-bikes",
        ),
        (
            "to_sykler",
            "To sykler gis bort",
            "Dame- og herresykkel, trenger nye slanger.",
            "bicycles",
        ),
        ("elsykkel", "Elsykkel med nytt batteri", "Lite brukt, rekkevidde 60 km.", "e-bikes"),
        ("el_sykkel", "El-sykkel til pendling", "Bosch-motor, 28 tommer hjul.", "e-bikes"),
        ("racersykkel", "Racersykkel i karbon", "Shimano 105, rammestørrelse 56.", "bicycles"),
        (
            "sykkelen_min",
            "Selger sykkelen min",
            "Terrengsykkel med 21 gir. Kan hentes på Lade.",
            "bicycles",
        ),
        ("lastesykkel", "Lastesykkel med kasse", "Plass til to barn i kassen.", "cargo-bikes"),
        (
            "sykkelhjelm",
            "Sykkelhjelm til barn",
            "Størrelse S, passer barn 3-6 år.",
            "bike-parts-and-accessories",
        ),
        (
            "sykkelstativ",
            "Sykkelstativ til hengerfeste",
            "Tar tre sykler.",
            "bike-parts-and-accessories",
        ),
        (
            "treningssykkel",
            "Treningssykkel fra Kettler",
            "Fungerer fint, må hentes.",
            "exercise-machines",
        ),
        # Books
        ("kokebok", "Kokebok for nybegynnere", "Norsk kokebok med hundre oppskrifter.", "books"),
        ("krimboker", "Krimbøker i pose", "Ti pocketbøker av Jo Nesbø og Anne Holt.", "books"),
        ("barneboker", "Barnebøker til 3-6 år", "Pekebøker og bildebøker i fin stand.", "books"),
        ("boka", "Sofies verden, innbundet", "Boka er som ny.", "books"),
        ("laereboker", "Lærebøker til videregående", "Matematikk R1 og R2, fysikk 1.", "books"),
        (
            "tegneserier",
            "Donald-blader og tegneserier",
            "Over 200 blader fra 1990-tallet.",
            "books",
        ),
        ("bokhylle", "Bokhylle i eik", "Høyde 180 cm, fem hyller.", "wardrobes-and-storage"),
        # Clothing and shoes
        (
            "vinterjakke",
            "Vinterjakke til barn str 122",
            "Varm og vanntett, fra Reima.",
            "childrens-clothing",
        ),
        ("to_jakker", "To jakker, dame str M", "Skalljakke og dunjakke.", "womens-clothing"),
        ("dress", "Dress til herre, str 50", "Jakke og bukse, mørk blå.", "mens-clothing"),
        ("regntoy", "Regnjakke og regnbukse", "Barnestørrelse 104.", "childrens-clothing"),
        ("genser", "Strikket genser i ull", "Håndstrikket, str L.", "womens-clothing"),
        ("gensere", "Gensere til gutt", "Tre gensere i str 140.", "childrens-clothing"),
        ("kjole", "Sommerkjole str 38", "Blomstret, brukt én gang.", "womens-clothing"),
        ("vinterstovler", "Vinterstøvler str 30", "Vanntette, med fôr.", "shoes"),
        ("joggesko", "Joggesko str 42", "Lite brukte, fra Asics.", "shoes"),
        ("skoene", "Skoene er for små", "Pensko str 39, brukt to ganger.", "shoes"),
        ("votter", "Votter og lue i ull", "Strikket, passer 2-4 år.", "childrens-clothing"),
        # Furniture
        ("sofa", "Sofa, tre seter", "Grå stoffsofa, må hentes.", "sofas-and-armchairs"),
        ("to_sofaer", "To sofaer gis bort", "Skinnsofa og hjørnesofa.", "sofas-and-armchairs"),
        ("lenestol", "Lenestol med fotskammel", "Brunt skinn, godt brukt.", "sofas-and-armchairs"),
        ("spisestoler", "Seks spisestoler i bjørk", "Spisebordet vårt selges også.", "chairs"),
        ("spisebord", "Spisebord med uttrekk", "Eik, 180 cm, plass til åtte.", "tables"),
        (
            "kontorstol",
            "Kontorstol, justerbar",
            "Ergonomisk, fra Håg.",
            "desks-and-office-furniture",
        ),
        (
            "skrivebord",
            "Hev-senk skrivebord",
            "Elektrisk, 160x80 cm.",
            "desks-and-office-furniture",
        ),
        ("seng", "Seng 90x200 med madrass", "Enkeltseng i furu.", "beds-and-mattresses"),
        (
            "koyeseng",
            "Køyeseng til barnerommet",
            "Hvitmalt, uten madrasser.",
            "childrens-furniture",
        ),
        (
            "hagemobler",
            "Hagemøbler, bord og fire stoler",
            "Teak, trenger olje.",
            "outdoor-furniture",
        ),
        (
            "garderobeskap",
            "Garderobeskap med speildører",
            "Bredde 150 cm.",
            "wardrobes-and-storage",
        ),
        ("tv_benk", "TV-benk i hvit høyglans", "180 cm lang.", "wardrobes-and-storage"),
        # Electronics and appliances
        (
            "vaskemaskin",
            "Vaskemaskin fra Bosch",
            "7 kg, fungerer, lekker litt.",
            "washing-machines-and-dryers",
        ),
        ("kjoleskap", "Kjøleskap med fryser", "Kombiskap, 185 cm høyt.", "fridges-and-freezers"),
        ("tv", "TV 55 tommer", "Samsung smart-TV, fjernkontroll følger med.", "televisions"),
        ("laptop", "Bærbar PC, 14 tommer", "Lenovo ThinkPad, 16 GB minne.", "laptops"),
        (
            "mobil",
            "Mobiltelefon med sprukket skjerm",
            "iPhone 11, ellers i orden.",
            "mobile-phones",
        ),
        ("pc_skjerm", "PC-skjerm 27 tommer", "Dell, 1440p.", "computer-monitors"),
        ("symaskin", "Symaskin fra Husqvarna", "Med pedal og ekstra nåler.", "sewing-machines"),
        ("stovsuger", "Støvsuger uten pose", "Dyson V8, nytt batteri.", "vacuum-cleaners"),
        ("kaffetrakter", "Kaffetrakter fra Moccamaster", "Rød, 1,25 liter.", "coffee-makers"),
        ("hodetelefoner", "Trådløse hodetelefoner", "Sony, med støydemping.", "headphones"),
        ("playstation", "PlayStation 4 med to kontrollere", "Og fem spill.", "games-consoles"),
        # Kitchen
        ("kjeler", "Kjeler og stekepanne", "Tre kjeler i stål og en stekepanne.", "cookware"),
        ("gryte", "Støpejernsgryte 5 liter", "Emaljert, oransje.", "cookware"),
        ("servise", "Servise til tolv personer", "Tallerkener, skåler og kopper.", "tableware"),
        ("vinglass", "Vinglass, 12 stk", "Krystall, som nye.", "tableware"),
        # Children
        (
            "barnevogn",
            "Barnevogn med bag og liggedel",
            "Emmaljunga, brukt til to barn.",
            "prams-and-strollers",
        ),
        ("bilsete", "Bilsete 0-13 kg", "Babyskydd med isofix-base.", "child-car-seats"),
        ("leker", "Leker i kasse", "Duplo, biler og dukker.", "toys"),
        ("lego", "Lego Technic", "Komplett med bruksanvisning.", "toys"),
        # Sport and outdoor
        ("langrennsski", "Langrennsski 190 cm", "Med feller og bindinger.", "cross-country-skiing"),
        (
            "alpinski",
            "Alpinski og skisko til barn",
            "Ski 120 cm, skisko str 30.",
            "alpine-and-snowboard",
        ),
        ("skoyter", "Skøyter str 38", "Kunstløpskøyter, hvite.", "ice-skates"),
        ("telt", "Telt for fire personer", "Brukt på to turer.", "tents"),
        (
            "sovepose",
            "Sovepose til vinterbruk",
            "Komforttemperatur minus 10 grader.",
            "sleeping-bags-and-mats",
        ),
        ("fiskestang", "Fiskestang med snelle", "Passer for havfiske.", "fishing-gear"),
        ("fiskestenger", "Tre fiskestenger", "Til ørretfiske i fjellet.", "fishing-gear"),
        ("manualer", "Manualer 2 x 10 kg", "Justerbare.", "fitness-equipment"),
        ("fotballer", "Fotballer, 5 stk", "Str 4, brukt på trening.", "ball-sports"),
        # Tools, garden and building
        ("drill", "Drill med to batterier", "Makita 18 V, lader følger med.", "power-tools"),
        ("tenger", "Tenger og skrutrekkere", "Verktøysett i koffert.", "hand-tools"),
        ("stige", "Stige 4 meter", "Aluminium, to deler.", "ladders-and-scaffolding"),
        ("gressklipper", "Gressklipper, bensin", "Starter lett.", "garden-machinery"),
        ("snofreser", "Snøfreser 6 hk", "Honda, lite brukt.", "garden-machinery"),
        ("hageslange", "Hageslange 25 m", "Med spreder.", "garden-tools"),
        ("planker", "Planker av gran", "Ca. 40 stk, 48x98, tre meter lange.", "timber-and-boards"),
        ("vinduer", "Vinduer fra oppussing", "Fire vinduer med tolags glass.", "windows-and-doors"),
        ("ytterdor", "Ytterdør med karm", "Hvit, 90x210.", "windows-and-doors"),
        ("fliser", "Fliser til bad", "12 kvadratmeter, grå 30x60.", "tiles-and-flooring"),
        ("isolasjon", "Isolasjon, 5 pakker", "Glava, 200 mm.", "insulation"),
        # Music, hobby and the rest
        ("gitar", "Akustisk gitar", "Yamaha, med bag.", "guitars-and-basses"),
        ("gitarer", "Gitarer selges samlet", "El-gitar og bassgitar.", "guitars-and-basses"),
        ("piano", "Piano gis bort mot henting", "Står i andre etasje.", "pianos"),
        ("taklampe", "Taklampe i messing", "Fra 70-tallet.", "ceiling-and-wall-lights"),
        ("lamper", "Lamper til stua", "Gulvlampe og to bordlamper.", "floor-lamps"),
        ("garn", "Garn, restepose", "Ull og bomull.", "yarn-and-fabric"),
        (
            "brettspill",
            "Brettspill for familien",
            "Monopol, Ludo og Alfapet.",
            "board-games-and-puzzles",
        ),
        (
            "puslespill",
            "Puslespill 1000 brikker",
            "Alle brikkene er med.",
            "board-games-and-puzzles",
        ),
        ("veggklokke", "Veggklokke", "Går på batteri.", "watches-and-clocks"),
        ("armbandsur", "Armbåndsur fra Seiko", "Automatisk.", "watches-and-clocks"),
        ("hundebur", "Hundebur str L", "Sammenleggbart.", "pet-supplies"),
        (
            "vinterdekk",
            "Vinterdekk 16 tommer",
            "Piggfrie, fire stk på felg.",
            "car-parts-and-accessories",
        ),
    ),
    CorpusListing(
        "sykkelverksted",
        "Reparasjon av sykler",
        "Vi fikser gir, bremser og punktering.",
        "bikes",
        kind="repair_service",
    ),
)

_BIKES = frozenset(
    {
        "barnesykkel",
        "to_sykler",
        "elsykkel",
        "el_sykkel",
        "racersykkel",
        "sykkelen_min",
        "lastesykkel",
        "sykkelverksted",
    }
)
_BOOKS = frozenset({"kokebok", "krimboker", "barneboker", "boka", "laereboker"})
_JACKETS = frozenset({"vinterjakke", "to_jakker", "dress", "regntoy"})
_CHAIRS = frozenset({"lenestol", "spisestoler", "kontorstol", "hagemobler"})


def _q(q: str, *relevant: str, note: str = "") -> LabelledQuery:
    return LabelledQuery(q, frozenset(relevant), note)


QUERIES: tuple[LabelledQuery, ...] = (
    _q("sykkel", *_BIKES, note="every bike, whatever the compound; not helmets or racks"),
    _q("sykler", *_BIKES, note="the plural the plain stemmer cannot join to sykkel"),
    _q("barnesykkel", "barnesykkel"),
    _q("elsykkel", "elsykkel", "el_sykkel", note="written with and without a hyphen"),
    _q("el-sykkel", "elsykkel", "el_sykkel"),
    _q("bok", *_BOOKS, note="bøker, boka, kokebok; not a bookcase"),
    _q("bøker", *_BOOKS),
    _q("kokebøker", "kokebok"),
    _q("jakke", *_JACKETS),
    _q("jakker", *_JACKETS),
    _q("vinterjakke", "vinterjakke"),
    _q("genser", "genser", "gensere"),
    _q("støvler", "vinterstovler"),
    _q("sko", "joggesko", "skoene"),
    _q("sofa", "sofa", "to_sofaer"),
    _q("sofaer", "sofa", "to_sofaer"),
    _q("stoler", *_CHAIRS),
    _q("seng", "seng", "koyeseng"),
    _q("bord", "spisebord", "skrivebord", "hagemobler"),
    _q("kjøleskap", "kjoleskap"),
    _q("tv", "tv"),
    _q("pc", "laptop"),
    _q("leker", "leker", "lego", note="Lego never says leke"),
    _q("ski", "langrennsski", "alpinski"),
    _q("skøyter", "skoyter"),
    _q("fiskestang", "fiskestang", "fiskestenger", note="stang, stenger: an irregular plural"),
    _q("fiskestenger", "fiskestang", "fiskestenger"),
    _q("tang", "tenger"),
    _q("vindu", "vinduer"),
    _q("dør", "ytterdor"),
    _q("gitar", "gitar", "gitarer"),
    _q("gitarer", "gitar", "gitarer"),
    _q("lampe", "taklampe", "lamper"),
    _q("spill", "brettspill", "puslespill", "playstation"),
    _q("klokke", "veggklokke"),
    _q("kjele", "kjeler"),
    _q("gryter", "gryte"),
    _q("dekk", "vinterdekk"),
    _q("vinterjakke barn", "vinterjakke"),
    _q("sykkel barn", "barnesykkel"),
    _q("støvsuger", "stovsuger"),
    _q("hodetelefoner", "hodetelefoner"),
)
