"""Download the vaderSentiment 3.3.2 sdist (MIT) into training/.cache/ and check it.

The sdist carries `additional_resources/hutto_ICWSM_2014.tar.gz`: the VADER study's
23,703 sentences (tweets, NYT editorial, movie-review and Amazon-review snippets), each
with the mean of >= 10 human sentiment ratings on a [-4, 4] scale.  It also carries the
vaderSentiment lexicon analyser, which we use only as a baseline.
Idempotent: does nothing if the checked file is already there.
"""
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from common import CACHE_DIR, VADER_SDIST, VADER_SDIST_SHA256, VADER_LIB_DIR


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    if not VADER_SDIST.exists() or sha256(VADER_SDIST) != VADER_SDIST_SHA256:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                 "--no-binary", ":all:", "vaderSentiment==3.3.2", "-d", tmp],
                check=True,
            )
            got = Path(tmp) / VADER_SDIST.name
            digest = sha256(got)
            if digest != VADER_SDIST_SHA256:
                sys.exit(f"{got.name}: sha256 {digest} != expected {VADER_SDIST_SHA256}")
            VADER_SDIST.write_bytes(got.read_bytes())
    # The lexicon analyser (pure Python, no dependencies at import) for the baseline.
    if not (VADER_LIB_DIR / "vaderSentiment" / "vaderSentiment.py").exists():
        VADER_LIB_DIR.mkdir(parents=True, exist_ok=True)
        with tarfile.open(VADER_SDIST) as tar:
            prefix = "vaderSentiment-3.3.2/vaderSentiment/"
            for m in tar.getmembers():
                if m.isfile() and m.name.startswith(prefix):
                    dest = VADER_LIB_DIR / "vaderSentiment" / m.name[len(prefix):]
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    dest.write_bytes(tar.extractfile(m).read())
    print(f"VADER data: {VADER_SDIST}")


if __name__ == "__main__":
    main()
