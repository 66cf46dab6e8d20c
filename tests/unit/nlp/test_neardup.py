from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from dengar_nlp.domain.neardup import MinHasher, cluster_near_duplicates, normalize_for_neardup

ORIGINAL = "Pelayanan Gojek hari ini parah banget, driver cancel 3x dan CS tidak membalas sama sekali #kecewa"


def test_normalisation_strips_repost_noise() -> None:
    assert normalize_for_neardup("RT @budi_s: Halo, DUNIA!! 😂 https://t.co/x @ani") == "halo dunia"
    assert normalize_for_neardup("Café #Promo") == "cafe promo"


def test_signature_is_deterministic_across_processes() -> None:
    h = MinHasher()
    here = h.keys_for_text(ORIGINAL)
    code = (
        "from dengar_nlp.domain.neardup import MinHasher;"
        f"print(','.join(MinHasher().keys_for_text({ORIGINAL!r})))"
    )
    # A fresh interpreter with a different hash seed must produce the same keys.
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "123"},
    )
    assert out.stdout.strip().split(",") == here
    assert len(here) == h.bands
    assert all(k.startswith("mh1-128-") for k in here)


def test_jaccard_estimates() -> None:
    h = MinHasher()
    a = h.signature(ORIGINAL)
    assert h.jaccard(a, h.signature("RT @x: " + ORIGINAL + " https://t.co/abc")) == 1.0
    edited = ORIGINAL.replace("3x", "4x").replace("#kecewa", "#kesal")
    assert h.jaccard(a, h.signature(edited)) > 0.6
    assert h.jaccard(a, h.signature("Harga cabai di pasar naik lagi menjelang lebaran")) < 0.1
    restored = MinHasher.from_bytes(MinHasher.to_bytes(a))
    assert np.array_equal(restored, a) and len(MinHasher.to_bytes(a)) == 4 * h.num_perm


def test_shared_band_key_for_near_duplicates() -> None:
    h = MinHasher()
    k1 = set(h.keys_for_text(ORIGINAL))
    k2 = set(h.keys_for_text(ORIGINAL + " !!!"))
    k3 = set(h.keys_for_text("Cuaca Jakarta cerah berawan sepanjang hari"))
    assert k1 & k2
    assert not k1 & k3


@pytest.mark.parametrize("text", ["", "   ", "😂😂😂", "https://t.co/x", "@budi", "RT @x: Thanks!! 🙏"])
def test_empty_texts_have_no_keys(text: str) -> None:
    h = MinHasher()
    sig = h.signature(text)
    assert h.is_empty(sig)
    assert h.band_keys(sig) == []
    assert h.jaccard(sig, sig) == 0.0


def test_bad_input() -> None:
    with pytest.raises(ValueError):
        MinHasher(num_perm=100, bands=32)
    with pytest.raises(ValueError):
        MinHasher().signature(None)  # type: ignore[arg-type]  # bad on purpose
    with pytest.raises(ValueError):
        MinHasher().band_keys(np.zeros(3, dtype=np.uint32))
    with pytest.raises(ValueError):
        cluster_near_duplicates(["a"], threshold=0)


def test_broken_unicode_and_long_text() -> None:
    h = MinHasher()
    raw = ORIGINAL.encode() + b"\xff\xfe\xf0\x9f"
    s1 = h.signature(raw.decode("utf-8", "surrogateescape"))
    s2 = h.signature(raw.decode("utf-8", "replace"))
    assert h.jaccard(s1, s2) > 0.9
    assert not h.is_empty(h.signature("x" * 10 + " kata" * 2000))


def test_campaign_detection() -> None:
    campaign = [
        "Dukung program makan siang gratis untuk anak sekolah! Bersama kita bisa #MakanSiangGratis",
        "RT @relawan01: Dukung program makan siang gratis untuk anak sekolah! Bersama kita bisa "
        "#MakanSiangGratis",
        "Dukung program makan siang gratis untuk anak-anak sekolah!! Bersama kita pasti bisa "
        "#MakanSiangGratis",
        "dukung program makan siang gratis untuk anak sekolah, bersama kita bisa 💪 #makansianggratis https://t.co/a1",
    ]
    organic = [
        "Macet parah di tol cikampek pagi ini, sudah 2 jam belum gerak",
        "Ada yang tahu resep rendang yang empuk? mau masak buat lebaran",
        "The new phone battery lasts two days, really impressed so far",
        "Hujan deras di Bandung, hati-hati di jalan semuanya",
        "😂😂😂",
        "",
    ]
    texts = [
        organic[0],
        campaign[0],
        organic[1],
        campaign[1],
        organic[2],
        campaign[2],
        organic[3],
        campaign[3],
    ]
    texts += organic[4:] * 2
    clusters = cluster_near_duplicates(texts)
    assert len(clusters) == 1
    assert clusters[0].members == (1, 3, 5, 7)
    assert clusters[0].representative == 1
    assert clusters[0].mean_similarity > 0.6
    assert cluster_near_duplicates([]) == []


def test_large_identical_campaign_is_linear() -> None:
    texts = [f"Copy paste campaign text number {i % 3} repeated by many accounts" for i in range(3000)]
    clusters = cluster_near_duplicates(texts)
    # The three variants differ in one digit only: one cluster of everything.
    assert [c.size for c in clusters] == [3000]
