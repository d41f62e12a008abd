"""Pinned PyPI sdists whose consecutive patch releases become task instances (see mine_releases.py).

Every version of one package here, in version order, forms the pairs (older, newer) that are mined; only
patch releases are listed (same major.minor), so a pair is one small, described change set. Archives are
fetched once with `pip download` into benchmarks/.data/archives/ and checked against these sha256 digests.
"""

from __future__ import annotations

import itertools

from benchmarks.inputs import Package


def _pkg(name: str, version: str, archive: str, sha256: str) -> Package:
    return Package("pypi", name, version, archive, sha256)


SDISTS: tuple[Package, ...] = (
    _pkg("click", "8.1.3", "click-8.1.3.tar.gz",
         "7682dc8afb30297001674575ea00d1814d808d6a36af415a82bd481d37ba7b8e"),
    _pkg("click", "8.1.4", "click-8.1.4.tar.gz",
         "b97d0c74955da062a7d4ef92fadb583806a585b2ea81958a81bd72726cbb8e37"),
    _pkg("click", "8.1.5", "click-8.1.5.tar.gz",
         "4be4b1af8d665c6d942909916d31a213a106800c47d0eeba73d34da3cbc11367"),
    _pkg("click", "8.1.6", "click-8.1.6.tar.gz",
         "48ee849951919527a045bfe3bf7baa8a959c423134e1a5b98c05c20ba75a1cbd"),
    _pkg("click", "8.1.7", "click-8.1.7.tar.gz",
         "ca9853ad459e787e2192211578cc907e7594e294c7ccc834310722b41b9ca6de"),
    _pkg("click", "8.1.8", "click-8.1.8.tar.gz",
         "ed53c9d8990d83c2a27deae68e4ee337473f6330c040a31d4225c9574d16096a"),
    _pkg("Django", "5.1.1", "Django-5.1.1.tar.gz",
         "021ffb7fdab3d2d388bc8c7c2434eb9c1f6f4d09e6119010bbb1694dda286bc2"),
    _pkg("Django", "5.1.2", "Django-5.1.2.tar.gz",
         "bd7376f90c99f96b643722eee676498706c9fd7dc759f55ebfaf2c08ebcdf4f0"),
    _pkg("Django", "5.1.3", "Django-5.1.3.tar.gz",
         "c0fa0e619c39325a169208caef234f90baa925227032ad3f44842ba14d75234a"),
    _pkg("Django", "5.1.4", "Django-5.1.4.tar.gz",
         "de450c09e91879fa5a307f696e57c851955c910a438a35e6b4c895e86bedc82a"),
    _pkg("Django", "5.1.5", "Django-5.1.5.tar.gz",
         "19bbca786df50b9eca23cee79d495facf55c8f5c54c529d9bf1fe7b5ea086af3"),
    _pkg("Flask", "2.3.2", "Flask-2.3.2.tar.gz",
         "8c2f9abd47a9e8df7f0c3f091ce9497d011dc3b31effcf4c85a6e2b50f4114ef"),
    _pkg("flask", "2.3.3", "flask-2.3.3.tar.gz",
         "09c347a92aa7ff4a8e7f3206795f30d826654baf38b873d0744cd571ca609efc"),
    _pkg("flask", "3.0.0", "flask-3.0.0.tar.gz",
         "cfadcdb638b609361d29ec22360d6070a77d7463dcb3ab08d2c2f2f168845f58"),
    _pkg("flask", "3.0.1", "flask-3.0.1.tar.gz",
         "6489f51bb3666def6f314e15f19d50a1869a19ae0e8c9a3641ffe66c77d42403"),
    _pkg("flask", "3.0.2", "flask-3.0.2.tar.gz",
         "822c03f4b799204250a7ee84b1eddc40665395333973dfb9deebfe425fefcb7d"),
    _pkg("flask", "3.0.3", "flask-3.0.3.tar.gz",
         "ceb27b0af3823ea2737928a4d99d125a06175b8512c445cbd9a9ce200ef76842"),
    _pkg("flask", "3.1.0", "flask-3.1.0.tar.gz",
         "5f873c5184c897c8d9d1b05df1e3d01b14910ce69607a117bd3277098a5836ac"),
    _pkg("flask", "3.1.1", "flask-3.1.1.tar.gz",
         "284c7b8f2f58cb737f0cf1c30fd7eaf0ccfcde196099d24ecede3fc2005aa59e"),
    _pkg("httpx", "0.27.0", "httpx-0.27.0.tar.gz",
         "a0cb88a46f32dc874e04ee956e4c2764aba2aa228f650b06788ba6bda2962ab5"),
    _pkg("httpx", "0.27.1", "httpx-0.27.1.tar.gz",
         "ce9d45798d6d047b7db67d7949e371f2b453105a53d8df315564b2483d346878"),
    _pkg("httpx", "0.27.2", "httpx-0.27.2.tar.gz",
         "f7c2be1d2f3c3c3160d441802406b206c2b76f5947b11115e6df10c6c65e66c2"),
    _pkg("httpx", "0.28.0", "httpx-0.28.0.tar.gz",
         "0858d3bab51ba7e386637f22a61d8ccddaeec5f3fe4209da3a6168dbb91573e0"),
    _pkg("httpx", "0.28.1", "httpx-0.28.1.tar.gz",
         "75e98c5f16b0f35b567856f597f06ff2270a374470a5c2392242528e3e3e42fc"),
    _pkg("Jinja2", "3.1.2", "Jinja2-3.1.2.tar.gz",
         "31351a702a408a9e7595a8fc6150fc3f43bb6bf7e319770cbc0db9df9437e852"),
    _pkg("Jinja2", "3.1.3", "Jinja2-3.1.3.tar.gz",
         "ac8bd6544d4bb2c9792bf3a159e80bba8fda7f07e81bc3aed565432d5925ba90"),
    _pkg("jinja2", "3.1.4", "jinja2-3.1.4.tar.gz",
         "4a3aee7acbbe7303aede8e9648d13b8bf88a429282aa6122a993f0ac800cb369"),
    _pkg("jinja2", "3.1.5", "jinja2-3.1.5.tar.gz",
         "8fefff8dc3034e27bb80d67c671eb8a9bc424c0ef4c0826edbff304cceff43bb"),
    _pkg("jinja2", "3.1.6", "jinja2-3.1.6.tar.gz",
         "0137fb05990d35f1275a587e9aee6d56da821fc83491a0fb838183be43f66d6d"),
    _pkg("pytest", "8.3.2", "pytest-8.3.2.tar.gz",
         "c132345d12ce551242c87269de812483f5bcc87cdbb4722e48487ba194f9fdce"),
    _pkg("pytest", "8.3.3", "pytest-8.3.3.tar.gz",
         "70b98107bd648308a7952b06e6ca9a50bc660be218d53c257cc1fc94fda10181"),
    _pkg("pytest", "8.3.4", "pytest-8.3.4.tar.gz",
         "965370d062bce11e73868e0335abac31b4d3de0e82f4007408d242b4f8610761"),
    _pkg("pytest", "8.3.5", "pytest-8.3.5.tar.gz",
         "f4efe70cc14e511565ac476b57c279e12a855b11f48f212af1080ef2263d3845"),
    _pkg("requests", "2.32.0", "requests-2.32.0.tar.gz",
         "fa5490319474c82ef1d2c9bc459d3652e3ae4ef4c4ebdd18a21145a47ca4b6b8"),
    _pkg("requests", "2.32.1", "requests-2.32.1.tar.gz",
         "eb97e87e64c79e64e5b8ac75cee9dd1f97f49e289b083ee6be96268930725685"),
    _pkg("requests", "2.32.2", "requests-2.32.2.tar.gz",
         "dd951ff5ecf3e3b3aa26b40703ba77495dab41da839ae72ef3c8e5d8e2433289"),
    _pkg("requests", "2.32.3", "requests-2.32.3.tar.gz",
         "55365417734eb18255590a9ff9eb97e9e1da868d4ccd6402399eaf68af20a760"),
    _pkg("requests", "2.32.4", "requests-2.32.4.tar.gz",
         "27d0316682c8a29834d3264820024b62a36942083d52caf2f14c0591336d3422"),
    _pkg("werkzeug", "3.0.0", "werkzeug-3.0.0.tar.gz",
         "3ffff4dcc32db52ef3cc94dff3000a3c2846890f3a5a51800a27b909c5e770f0"),
    _pkg("werkzeug", "3.0.1", "werkzeug-3.0.1.tar.gz",
         "507e811ecea72b18a404947aded4b3390e1db8f826b494d76550ef45bb3b1dcc"),
    _pkg("werkzeug", "3.0.2", "werkzeug-3.0.2.tar.gz",
         "e39b645a6ac92822588e7b39a692e7828724ceae0b0d702ef96701f90e70128d"),
    _pkg("werkzeug", "3.0.3", "werkzeug-3.0.3.tar.gz",
         "097e5bfda9f0aba8da6b8545146def481d06aa7d3266e7448e2cccf67dd8bd18"),
    _pkg("werkzeug", "3.0.4", "werkzeug-3.0.4.tar.gz",
         "34f2371506b250df4d4f84bfe7b0921e4762525762bbd936614909fe25cd7306"),
    _pkg("werkzeug", "3.0.5", "werkzeug-3.0.5.tar.gz",
         "033bc3783777078517f32ae3ba9e86e9bc38bdbf139b1a5a3af9679a64ed1293"),
    _pkg("werkzeug", "3.0.6", "werkzeug-3.0.6.tar.gz",
         "a8dd59d4de28ca70471a34cba79bed5f7ef2e036a76b3ab0835474246eb41f8d"),
    _pkg("werkzeug", "3.1.0", "werkzeug-3.1.0.tar.gz",
         "6f2a0d38f25ba5a75c36c45b4ae350c7a23b57e3b974e9eb2d6851f2c648c00d"),
    _pkg("werkzeug", "3.1.1", "werkzeug-3.1.1.tar.gz",
         "8cd39dfbdfc1e051965f156163e2974e52c210f130810e9ad36858f0fd3edad4"),
    _pkg("werkzeug", "3.1.2", "werkzeug-3.1.2.tar.gz",
         "f471a4cd167233077e9d2a8190c3471c5bc520c636a9e3c1e9300c33bced03bc"),
    _pkg("werkzeug", "3.1.3", "werkzeug-3.1.3.tar.gz",
         "60723ce945c19328679790e3282cc758aa4a6040e4bb330f53d30fa546d44746"),
    _pkg("black", "24.4.0", "black-24.4.0.tar.gz",
         "f07b69fda20578367eaebbd670ff8fc653ab181e1ff95d84497f9fa20e7d0641"),
    _pkg("black", "24.4.1", "black-24.4.1.tar.gz",
         "5241612dc8cad5b6fd47432b8bd04db80e07cfbc53bb69e9ae18985063bcb8dd"),
    _pkg("black", "24.4.2", "black-24.4.2.tar.gz",
         "c872b53057f000085da66a19c55d68f6f8ddcac2642392ad3a355878406fbd4d"),
    _pkg("marshmallow", "3.21.0", "marshmallow-3.21.0.tar.gz",
         "20f53be28c6e374a711a16165fb22a8dc6003e3f7cda1285e3ca777b9193885b"),
    _pkg("marshmallow", "3.21.1", "marshmallow-3.21.1.tar.gz",
         "4e65e9e0d80fc9e609574b9983cf32579f305c718afb30d7233ab818571768c3"),
    _pkg("marshmallow", "3.21.2", "marshmallow-3.21.2.tar.gz",
         "82408deadd8b33d56338d2182d455db632c6313aa2af61916672146bb32edc56"),
    _pkg("marshmallow", "3.21.3", "marshmallow-3.21.3.tar.gz",
         "4f57c5e050a54d66361e826f94fba213eb10b67b2fdb02c3e0343ce207ba1662"),
    _pkg("sqlparse", "0.5.0", "sqlparse-0.5.0.tar.gz",
         "714d0a4932c059d16189f58ef5411ec2287a4360f17cdd0edd2d09d4c5087c93"),
    _pkg("sqlparse", "0.5.1", "sqlparse-0.5.1.tar.gz",
         "bb6b4df465655ef332548e24f08e205afc81b9ab86cb1c45657a7ff173a3a00e"),
    _pkg("sqlparse", "0.5.2", "sqlparse-0.5.2.tar.gz",
         "9e37b35e16d1cc652a2545f0997c1deb23ea28fa1f3eefe609eee3063c3b105f"),
    _pkg("sqlparse", "0.5.3", "sqlparse-0.5.3.tar.gz",
         "09f67787f56a0b16ecdbde1bfc7f5d9c3371ca683cfeaa8e6ff60b4807ec9272"),
    _pkg("urllib3", "2.2.0", "urllib3-2.2.0.tar.gz",
         "051d961ad0c62a94e50ecf1af379c3aba230c66c710493493560c0c223c49f20"),
    _pkg("urllib3", "2.2.1", "urllib3-2.2.1.tar.gz",
         "d0570876c61ab9e520d776c38acbbb5b05a776d3f9ff98a5c8fd5162a444cf19"),
    _pkg("urllib3", "2.2.2", "urllib3-2.2.2.tar.gz",
         "dd505485549a7a552833da5e6063639d0d177c04f23bc3864e41e5dc5f612168"),
    _pkg("urllib3", "2.2.3", "urllib3-2.2.3.tar.gz",
         "e7d814a81dad81e6caf2ec9fdedb284ecc9c73076b62654547cc64ccdcae26e9"),
)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def release_pairs(packages: tuple[Package, ...] = SDISTS) -> list[tuple[Package, Package]]:
    """Consecutive versions of the same package within one major.minor series, oldest first."""
    by_name: dict[str, list[Package]] = {}
    for p in packages:
        by_name.setdefault(p.name.lower(), []).append(p)
    pairs = []
    for name in sorted(by_name):
        versions = sorted(by_name[name], key=lambda p: _version_key(p.version))
        for old, new in itertools.pairwise(versions):
            if _version_key(old.version)[:2] == _version_key(new.version)[:2]:
                pairs.append((old, new))
    return pairs
