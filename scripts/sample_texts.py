"""Prose for the sample PDF corpus built by ``make_sample_docs.py``.

Kept apart from the generator so that the script itself stays small. Each
entry maps a file stem to ``(title, sections)``; every section is a
``(heading, text)`` pair, and a blank line (``"\n\n"``) inside ``text``
separates paragraphs. The texts are original, factual overviews written so
that each document has its own distinctive vocabulary, which makes them
useful for checking that semantic search picks the right file.
"""

Section = tuple[str, str]

SAMPLE_TEXTS: dict[str, tuple[str, list[Section]]] = {
    "photosynthesis": (
        "Photosynthesis: How Plants Capture Light and Make Sugar",
        [
            (
                "What Photosynthesis Does",
                "Photosynthesis is the process by which plants, algae and "
                "cyanobacteria capture the energy of sunlight and store it in the "
                "chemical bonds of sugar. Using light as the power source, a leaf "
                "takes in carbon dioxide from the air and water from the soil and "
                "rearranges their atoms into glucose, releasing oxygen gas as a "
                "by-product. The overall reaction is usually summarised as 6 CO2 + "
                "6 H2O + light energy -> C6H12O6 + 6 O2. That tidy equation hides "
                "dozens of individual steps, but it captures the essential bargain: "
                "light energy goes in, and energy-rich carbohydrate and free oxygen "
                "come out.\n\n"
                "Almost every food chain on Earth begins with this conversion. The "
                "grain in bread, the grass eaten by cattle and the plankton grazed "
                "by krill all store energy that was originally sunlight absorbed by "
                "a pigment molecule. Photosynthetic organisms are therefore called "
                "primary producers or autotrophs, because they build their own "
                "organic molecules from inorganic carbon, while animals, fungi and "
                "most bacteria are heterotrophs that depend on those molecules. The "
                "oxygen released along the way is just as important: it sustains "
                "aerobic respiration, the process by which cells burn sugar back "
                "into carbon dioxide and water to power their activities.\n\n"
                "Biologists divide photosynthesis into two linked stages. The "
                "light-dependent reactions take place in membranes inside the "
                "chloroplast and convert light energy into two short-lived energy "
                "carriers, ATP and NADPH, splitting water and releasing oxygen in "
                "the process. The light-independent reactions, known as the Calvin "
                "cycle, take place in the surrounding fluid and use that ATP and "
                "NADPH to fix carbon dioxide into three-carbon sugars. The first "
                "stage is often compared to charging a battery and the second to "
                "spending that charge to build something useful.",
            ),
            (
                "Chloroplasts and Photosynthetic Pigments",
                "In plants, photosynthesis happens inside chloroplasts, lens-shaped "
                "organelles found mostly in the mesophyll cells of leaves. A single "
                "mesophyll cell may contain dozens of chloroplasts, and a square "
                "millimetre of leaf surface can hold hundreds of thousands of them. "
                "Each chloroplast is enclosed by a double envelope membrane and "
                "contains a third internal membrane system called the thylakoids. "
                "Thylakoids are flattened sacs that are stacked into piles called "
                "grana and connected by unstacked stromal lamellae. The thick fluid "
                "around them is the stroma, which holds the enzymes of the Calvin "
                "cycle along with the chloroplast's own small circular DNA and "
                "ribosomes, a reminder that chloroplasts descend from free-living "
                "cyanobacteria engulfed by an ancestral eukaryotic cell more than a "
                "billion years ago.\n\n"
                "The thylakoid membranes are packed with pigments that absorb "
                "light. The most important is chlorophyll a, a molecule with a "
                "magnesium ion at the centre of a porphyrin ring and a long "
                "hydrocarbon tail that anchors it in the membrane. Chlorophyll b "
                "and a family of orange and yellow pigments called carotenoids act "
                "as accessory pigments, broadening the range of wavelengths a leaf "
                "can use. Chlorophylls absorb strongly in the blue and red parts of "
                "the visible spectrum but poorly in the green, which is reflected "
                "and transmitted; that is why foliage looks green to our eyes. "
                "Carotenoids absorb blue-green light and also protect the "
                "photosynthetic machinery by safely dissipating excess energy that "
                "could otherwise generate damaging reactive oxygen species. In "
                "autumn, when deciduous trees break down their chlorophyll and "
                "recover its nitrogen, the carotenoids that remain become visible "
                "as yellow and orange leaf colours.\n\n"
                "Pigments are not scattered at random. Hundreds of chlorophyll and "
                "carotenoid molecules are bound to proteins in light-harvesting "
                "complexes that surround a reaction centre. When a pigment in this "
                "antenna absorbs a photon, the excitation energy hops from molecule "
                "to molecule by resonance transfer until it reaches a special pair "
                "of chlorophyll a molecules in the reaction centre. There the "
                "energy is used to do chemistry: an electron is boosted to a "
                "high-energy state and handed to a neighbouring acceptor molecule. "
                "This charge separation, which takes only trillionths of a second, "
                "is the moment at which light energy becomes chemical energy.",
            ),
            (
                "The Light-Dependent Reactions",
                "Two kinds of reaction centre work in series in plants, algae and "
                "cyanobacteria. They are called photosystem II and photosystem I, "
                "numbered in the order of their discovery rather than the order in "
                "which electrons pass through them. The reaction centre chlorophyll "
                "of photosystem II is known as P680, because it absorbs best at a "
                "wavelength of 680 nanometres, and that of photosystem I is P700.\n\n"
                "The sequence begins at photosystem II. When P680 loses an excited "
                "electron, it becomes the strongest oxidising agent known in "
                "biology, strong enough to pull electrons from water. A cluster of "
                "four manganese ions and one calcium ion, called the "
                "oxygen-evolving complex, gathers electrons one at a time from two "
                "water molecules. After four photons have been absorbed, the "
                "cluster releases one molecule of O2 and four protons into the "
                "thylakoid interior, or lumen. Experiments in 1941 using water "
                "labelled with the heavy isotope oxygen-18 showed that the oxygen "
                "given off by plants comes from water rather than from carbon "
                "dioxide, overturning an earlier assumption.\n\n"
                "The energised electrons travel from photosystem II along an "
                "electron transport chain embedded in the thylakoid membrane. The "
                "mobile carrier plastoquinone ferries them to the cytochrome b6f "
                "complex, which uses their energy to pump additional protons into "
                "the lumen. The small copper protein plastocyanin then carries the "
                "electrons to photosystem I, where a second photon re-energises "
                "them. From photosystem I the electrons pass to the iron-sulphur "
                "protein ferredoxin and finally to the enzyme ferredoxin-NADP+ "
                "reductase, which uses two electrons and a proton to reduce NADP+ "
                "to NADPH. Plotted against their energy level, these steps form a "
                "zigzag that textbooks call the Z-scheme.\n\n"
                "Meanwhile, protons released by water splitting and pumped by "
                "cytochrome b6f build up inside the thylakoid lumen until it "
                "becomes roughly a thousand times more acidic than the stroma. This "
                "gradient is a store of energy. Protons flow back out to the stroma "
                "through a rotary enzyme called ATP synthase, whose spinning head "
                "attaches a phosphate group to ADP to form ATP. This coupling of a "
                "proton gradient to ATP production is called chemiosmosis, an idea "
                "proposed by Peter Mitchell in 1961 and recognised by a Nobel Prize "
                "in 1978. When a chloroplast needs extra ATP relative to NADPH, "
                "electrons from photosystem I can be sent back to the cytochrome "
                "complex instead of to NADP+, a detour called cyclic electron flow "
                "that pumps protons and makes ATP without producing NADPH or "
                "oxygen.",
            ),
            (
                "The Calvin Cycle: Fixing Carbon",
                "The ATP and NADPH made in the thylakoids are spent in the stroma "
                "to build sugar from carbon dioxide. This set of reactions is "
                "called the Calvin cycle, or the Calvin-Benson-Bassham cycle, after "
                "the chemists who worked it out at Berkeley in the late 1940s and "
                "1950s by feeding radioactive carbon-14 to the green alga Chlorella "
                "and tracking which compounds became labelled within seconds. "
                "Melvin Calvin received the 1961 Nobel Prize in Chemistry for the "
                "work.\n\n"
                "The cycle has three phases. In the first, carbon fixation, the "
                "enzyme ribulose-1,5-bisphosphate carboxylase/oxygenase, mercifully "
                "shortened to RuBisCO, attaches a molecule of CO2 to the "
                "five-carbon sugar ribulose-1,5-bisphosphate (RuBP). The unstable "
                "six-carbon product immediately splits into two molecules of the "
                "three-carbon acid 3-phosphoglycerate. In the second phase, "
                "reduction, each 3-phosphoglycerate is phosphorylated by ATP and "
                "then reduced by NADPH to glyceraldehyde-3-phosphate, usually "
                "abbreviated G3P. In the third phase, regeneration, a complex "
                "shuffle of sugar phosphates rebuilds RuBP so that the cycle can "
                "turn again, consuming more ATP in the process.\n\n"
                "For every three molecules of carbon dioxide fixed, the cycle "
                "produces six molecules of G3P, but five of them are needed to "
                "regenerate three molecules of RuBP. The net gain is therefore one "
                "G3P, at a cost of nine ATP and six NADPH. Making a single "
                "six-carbon glucose requires twice that, or six CO2, eighteen ATP "
                "and twelve NADPH. G3P is the true product of photosynthesis. Some "
                "is exported from the chloroplast and converted into sucrose, the "
                "sugar that travels through the phloem to roots, fruits and growing "
                "shoots. Some is kept inside the chloroplast and polymerised into "
                "starch, a storage carbohydrate that accumulates during the day and "
                "is broken down at night to keep the plant supplied. Carbon "
                "skeletons from G3P also feed the synthesis of cellulose, amino "
                "acids and fats.\n\n"
                "RuBisCO is probably the most abundant protein on Earth, making up "
                "as much as half of the soluble protein in a leaf. Its abundance is "
                "a consequence of its weakness: it is a slow enzyme, fixing only a "
                "few molecules of CO2 per second, so plants must make enormous "
                "quantities of it.",
            ),
            (
                "Photorespiration: RuBisCO's Costly Mistake",
                "RuBisCO evolved billions of years ago, when the atmosphere "
                "contained plenty of carbon dioxide and almost no oxygen. As a "
                "result, it cannot perfectly tell the two gases apart. Roughly once "
                "for every three or four carboxylation reactions under typical "
                "conditions, RuBisCO attaches O2 to RuBP instead of CO2. The "
                "products are one molecule of 3-phosphoglycerate and one molecule "
                "of 2-phosphoglycolate, a compound that is useless for building "
                "sugar and inhibits other enzymes.\n\n"
                "Plants salvage the carbon in phosphoglycolate through a long "
                "pathway called photorespiration that runs through three "
                "organelles: the chloroplast, the peroxisome and the mitochondrion. "
                "The pathway recovers three out of every four carbon atoms, but it "
                "releases previously fixed carbon as CO2, spends ATP and liberates "
                "ammonia that must be reassimilated at further cost. "
                "Photorespiration becomes worse in hot, dry and bright conditions. "
                "Heat reduces the solubility of CO2 relative to O2 and lowers "
                "RuBisCO's preference for CO2, and when leaves close their stomata "
                "to save water, the carbon dioxide inside the leaf is used up while "
                "oxygen from the light reactions accumulates. In such conditions a "
                "wheat or rice plant can lose a quarter or more of its potential "
                "carbon gain, and engineering crops with less photorespiration is "
                "an active area of research.",
            ),
            (
                "C4 and CAM Photosynthesis",
                "Several plant lineages have evolved ways to concentrate carbon "
                "dioxide around RuBisCO and so suppress photorespiration. In C4 "
                "plants, such as maize, sugarcane, sorghum and many tropical "
                "grasses, the initial capture of carbon happens in mesophyll cells "
                "using the enzyme PEP carboxylase, which has no affinity for "
                "oxygen. It fixes bicarbonate onto phosphoenolpyruvate to form a "
                "four-carbon acid, oxaloacetate, which gives the pathway its name. "
                "The four-carbon acids, usually malate or aspartate, diffuse into a "
                "ring of bundle-sheath cells wrapped around the leaf veins, an "
                "arrangement called Kranz anatomy from the German word for wreath. "
                "There the acids release their CO2, creating a concentration "
                "several times higher than in the air, and RuBisCO works almost "
                "without photorespiration. The pump costs extra ATP, so C4 plants "
                "have the advantage mainly in hot, sunny climates, where they can "
                "reach very high rates of growth with less water and nitrogen per "
                "unit of carbon fixed.\n\n"
                "Crassulacean acid metabolism, or CAM, separates the two "
                "carbon-fixing steps in time rather than in space. CAM plants, "
                "including cacti, agaves, pineapples and many orchids and "
                "succulents, open their stomata at night, when the air is cooler "
                "and more humid, and fix CO2 with PEP carboxylase into malic acid, "
                "which is stored in large vacuoles. The leaves of a CAM plant "
                "become noticeably sour by dawn. During the day the stomata stay "
                "closed to conserve water, while the malic acid is broken down to "
                "release CO2 for the Calvin cycle behind sealed pores. The strategy "
                "allows CAM plants to survive in deserts and on tree branches where "
                "water is scarce, though usually at the price of slow growth.",
            ),
            (
                "What Limits the Rate of Photosynthesis",
                "The rate at which a leaf fixes carbon depends on light intensity, "
                "carbon dioxide concentration and temperature, as well as on the "
                "supply of water and nutrients. In 1905 the British plant "
                "physiologist Frederick Blackman proposed that the rate is set by "
                "whichever factor is in shortest supply, the principle of limiting "
                "factors. In dim light, adding more CO2 makes little difference "
                "because the light reactions cannot supply enough ATP and NADPH; as "
                "light increases, the rate rises until it levels off at the light "
                "saturation point, where the Calvin cycle or the supply of CO2 "
                "becomes the bottleneck. At very low light there is a light "
                "compensation point at which carbon fixed by photosynthesis exactly "
                "balances carbon released by respiration, so the plant makes no net "
                "gain. Shade-adapted plants have lower compensation points than "
                "sun-loving species, allowing them to survive on a forest floor.\n\n"
                "Temperature strongly affects the enzyme-driven Calvin cycle. Rates "
                "typically rise up to an optimum, around 25 to 30 degrees Celsius "
                "for many temperate crops and higher for C4 grasses, and then fall "
                "as photorespiration accelerates and proteins begin to be damaged. "
                "Commercial greenhouse growers take advantage of these "
                "relationships by enriching the air with carbon dioxide to around "
                "1,000 parts per million, more than double the outdoor level, which "
                "can raise tomato and cucumber yields substantially when light and "
                "temperature are also adequate.",
            ),
            (
                "How Photosynthesis Was Discovered",
                "The study of photosynthesis began with the question of where a "
                "plant's mass comes from. In an experiment published in 1648, the "
                "Flemish physician Jan Baptista van Helmont grew a willow in a "
                "weighed pot of soil for five years; the tree gained about 74 "
                "kilograms while the soil lost only a few grams, and he concluded, "
                "partly wrongly, that the mass came from water. In 1771 Joseph "
                "Priestley found that a sprig of mint could restore air in which a "
                "candle had burned out, so that a mouse could live in it. Jan "
                "Ingenhousz showed in 1779 that this restoration required light and "
                "happened only in the green parts of plants. Jean Senebier "
                "demonstrated that plants take up what we now call carbon dioxide, "
                "and Nicolas-Théodore de Saussure showed in 1804 that the increase "
                "in plant mass came from both carbon dioxide and water.\n\n"
                "The twentieth century added the molecular details. Cornelis van "
                "Niel, studying purple sulphur bacteria that split hydrogen "
                "sulphide rather than water, argued in the 1930s that the oxygen "
                "released by plants comes from water, a proposal confirmed by the "
                "isotope experiments of Samuel Ruben and Martin Kamen. Robert "
                "Emerson's measurements of how efficiently different wavelengths "
                "drive photosynthesis revealed an enhancement effect that pointed "
                "to two cooperating photosystems. The three-dimensional structure "
                "of a bacterial reaction centre was solved in 1985, and detailed "
                "structures of both plant-type photosystems followed around the "
                "turn of the twenty-first century.",
            ),
            (
                "Photosynthesis and the Planet",
                "Photosynthesis has shaped the entire Earth system. "
                "Oxygen-producing cyanobacteria were releasing O2 by at least 2.4 "
                "billion years ago, and the accumulation of that gas in the Great "
                "Oxidation Event transformed ocean chemistry, rusted dissolved iron "
                "into banded iron formations and made possible the ozone layer and, "
                "eventually, complex animal life. Today land plants and marine "
                "phytoplankton together fix more than 100 billion tonnes of carbon "
                "from the atmosphere each year, with microscopic ocean organisms "
                "such as diatoms and Prochlorococcus accounting for roughly half of "
                "global primary production. Coal, oil and natural gas are the "
                "buried remains of ancient photosynthetic organisms, so burning "
                "them releases carbon that photosynthesis removed from the air "
                "hundreds of millions of years ago.\n\n"
                "Because of this central role, scientists are trying both to "
                "improve natural photosynthesis and to imitate it. Crop researchers "
                "are testing faster recovery from light stress, bypasses for "
                "photorespiration and the transfer of C4 traits into rice. Chemists "
                "working on artificial photosynthesis are designing catalysts and "
                "light-absorbing materials that split water or reduce carbon "
                "dioxide directly, with the long-term goal of producing fuels from "
                "sunlight, water and air as efficiently as a leaf, or better.",
            ),
        ],
    ),
    "volcanoes": (
        "Volcanoes: Magma, Eruptions and Volcanic Hazards",
        [
            (
                "What a Volcano Is",
                "A volcano is an opening in a planet's crust through which molten "
                "rock, volcanic gases and fragments of rock escape from the "
                "interior. Molten rock below the surface is called magma; once it "
                "reaches the surface it is called lava. Magma forms where rock in "
                "the upper mantle or lower crust partly melts, and because it is "
                "less dense than the surrounding solid rock it rises buoyantly. It "
                "often pools in a magma chamber a few kilometres beneath the "
                "volcano, where it can cool, crystallise and change in composition "
                "before an eruption. The mountain that most people picture as a "
                "volcano is simply the pile of lava flows and fragmented material, "
                "known as tephra, built up around the vent by repeated eruptions.\n\n"
                "Volcanoes are often classed as active, dormant or extinct, but the "
                "categories are blurry. A volcano that has been quiet for centuries "
                "can reawaken; Mount Pinatubo in the Philippines had not erupted "
                "for about 500 years before its catastrophic eruption in 1991. "
                "Volcanologists therefore usually speak of volcanoes that have "
                "erupted within the Holocene, the last 11,700 years. About 1,350 "
                "such potentially active volcanoes exist on land, and many more lie "
                "hidden beneath the oceans.",
            ),
            (
                "Where Volcanoes Form",
                "Most volcanoes are found along the boundaries of tectonic plates. "
                "At divergent boundaries, such as the Mid-Atlantic Ridge, plates "
                "pull apart and the hot mantle beneath rises and decompresses. "
                "Falling pressure lowers the melting point of the rock, a process "
                "called decompression melting, and basaltic magma wells up to form "
                "new ocean crust. Most of this volcanism happens unseen on the sea "
                "floor, but in Iceland the ridge rises above sea level, giving the "
                "island its fissure eruptions and vast lava fields.\n\n"
                "At convergent boundaries one plate sinks beneath another in a "
                "subduction zone. As the descending oceanic slab reaches depths of "
                "around 100 kilometres, water-bearing minerals in it release fluids "
                "into the overlying mantle wedge. The added water lowers the "
                "melting temperature of the mantle rock, a process known as flux "
                "melting, and the resulting magma rises to feed a chain of "
                "volcanoes parallel to the ocean trench. The Pacific Ring of Fire, "
                "which runs from New Zealand through Indonesia, the Philippines, "
                "Japan, Kamchatka and Alaska to the Cascades and the Andes, is a "
                "nearly continuous belt of subduction volcanoes that hosts roughly "
                "three quarters of the world's active volcanoes.\n\n"
                "A third group of volcanoes forms far from plate boundaries, above "
                "hotspots. These are thought to be fed by plumes of unusually hot "
                "mantle rising from deep within the Earth. As a plate moves across "
                "a stationary hotspot, a chain of volcanoes forms, each one older "
                "and more eroded with distance from the hotspot. The Hawaiian "
                "Islands and the Emperor Seamounts trace more than 70 million years "
                "of Pacific plate motion in this way, and the Yellowstone hotspot "
                "has left a track of giant calderas across the Snake River Plain of "
                "Idaho.",
            ),
            (
                "Magma Chemistry and Eruption Style",
                "Whether a volcano erupts gently or explosively depends largely on "
                "the viscosity and gas content of its magma, and viscosity depends "
                "mostly on silica. Basaltic magma contains about 45 to 52 percent "
                "silica, is very hot at 1,100 to 1,250 degrees Celsius, and flows "
                "easily. Gas bubbles escape from it without much resistance, so "
                "basaltic eruptions are usually effusive, producing lava fountains "
                "and long lava flows. Andesitic magma, typical of subduction zones, "
                "has intermediate silica, while rhyolitic magma contains more than "
                "about 70 percent silica and is cooler and thousands of times more "
                "viscous, behaving more like cold toothpaste than syrup.\n\n"
                "Magma also carries dissolved gases, chiefly water vapour together "
                "with carbon dioxide and sulphur dioxide, held in solution by the "
                "high pressure at depth, much as carbon dioxide is held in an "
                "unopened bottle of soda. As magma rises and the pressure falls, "
                "the gases come out of solution and form bubbles. In runny basalt "
                "the bubbles escape; in sticky, silica-rich magma they are trapped "
                "and expand until the froth tears itself apart, a process called "
                "fragmentation. The magma then erupts as a high-speed jet of gas "
                "and shattered volcanic glass that can rise tens of kilometres into "
                "the stratosphere. Pumice, full of gas holes and light enough to "
                "float on water, is frozen froth of this kind. Basaltic lava flows "
                "have surfaces named with Hawaiian words: pahoehoe, with a smooth, "
                "ropy skin, and a'a, a rough, clinkery rubble that is painful to "
                "walk across.",
            ),
            (
                "Types of Volcanoes",
                "Shield volcanoes are broad, gently sloping mountains built from "
                "countless fluid basalt flows. Mauna Loa on the island of Hawaii is "
                "the largest active volcano on Earth, rising about 9 kilometres "
                "from the sea floor yet having slopes of only a few degrees. "
                "Stratovolcanoes, also called composite volcanoes, are steep, "
                "symmetrical cones built from alternating layers of lava, ash and "
                "pyroclastic debris. Mount Fuji, Mount Rainier, Mayon and Mount St. "
                "Helens are classic examples, and their viscous andesitic and "
                "dacitic magmas make them the most dangerous volcanoes on the "
                "planet.\n\n"
                "Cinder cones are the smallest and simplest type: steep piles of "
                "loose scoria thrown out of a single vent, often in one eruption "
                "lasting months or years. In 1943 a farmer in Mexico watched "
                "Parícutin begin as a smoking crack in his cornfield; within a year "
                "the cone stood more than 300 metres high, and it kept erupting "
                "until 1952. Lava domes form when lava too viscous to flow piles up "
                "over the vent, and they can collapse to produce deadly avalanches "
                "of hot rock. Calderas are large basin-shaped depressions that form "
                "when the roof of a magma chamber collapses after a very large "
                "eruption empties it. Crater Lake in Oregon fills a caldera created "
                "about 7,700 years ago when Mount Mazama erupted and collapsed.",
            ),
            (
                "Eruption Hazards",
                "Lava flows destroy property but rarely kill, because most move "
                "slowly enough for people to walk away. The greatest killers are "
                "pyroclastic flows, avalanches of hot gas, ash and rock fragments "
                "that race down a volcano's flanks at more than 100 kilometres per "
                "hour with temperatures of several hundred degrees. The eruption of "
                "Vesuvius in AD 79 buried Pompeii and Herculaneum beneath ash and "
                "pyroclastic surges, and in 1902 a pyroclastic flow from Mont Pelée "
                "on Martinique destroyed the town of Saint-Pierre in minutes, "
                "killing about 28,000 people.\n\n"
                "Lahars, or volcanic mudflows, form when loose volcanic debris "
                "mixes with water from rain, crater lakes or melting snow and ice. "
                "They can travel tens of kilometres down river valleys with the "
                "consistency of wet concrete. In 1985 a relatively small eruption "
                "of Nevado del Ruiz in Colombia melted part of its summit ice cap, "
                "and lahars buried the town of Armero, killing more than 23,000 "
                "people. Falling ash collapses roofs, contaminates water supplies, "
                "ruins crops and damages jet engines; the 2010 eruption of "
                "Eyjafjallajökull in Iceland closed much of European airspace for "
                "several days. Volcanic gases can also be deadly: in 1986 a sudden "
                "release of carbon dioxide from Lake Nyos, a volcanic crater lake "
                "in Cameroon, suffocated about 1,700 people in the surrounding "
                "valleys.\n\n"
                "Eruptions can also trigger tsunamis. When Krakatau, in the strait "
                "between Java and Sumatra, erupted in August 1883, the collapse of "
                "the volcano and pyroclastic flows pouring into the sea generated "
                "waves more than 30 metres high that swept the surrounding coasts "
                "and killed about 36,000 people. The final explosion was heard "
                "nearly 4,800 kilometres away on the island of Rodrigues in the "
                "Indian Ocean, and the pressure wave it produced was recorded by "
                "barometers around the world several times as it circled the globe.",
            ),
            (
                "Measuring Eruptions and Their Effect on Climate",
                "The size of explosive eruptions is described by the Volcanic "
                "Explosivity Index, or VEI, a scale from 0 to 8 based mainly on the "
                "volume of tephra ejected and the height of the eruption column. "
                "Each step above VEI 2 represents roughly a tenfold increase in "
                "erupted volume. The 1980 eruption of Mount St. Helens was a VEI 5, "
                "the 1991 eruption of Pinatubo a VEI 6, and the 1815 eruption of "
                "Tambora in Indonesia a VEI 7, the largest in recorded history. "
                "Eruptions rated VEI 8, such as those that formed the Yellowstone "
                "calderas, eject more than 1,000 cubic kilometres of material.\n\n"
                "Large explosive eruptions can cool the global climate. The key "
                "ingredient is not ash, which falls out within days or weeks, but "
                "sulphur dioxide injected into the stratosphere, where it converts "
                "to tiny droplets of sulphuric acid that reflect sunlight for one "
                "to three years. Pinatubo lowered average global temperatures by "
                "about half a degree Celsius in 1992, and the aftermath of Tambora "
                'produced the "Year Without a Summer" in 1816, with crop failures '
                "and famine across Europe and North America.",
            ),
            (
                "Monitoring and Forecasting Eruptions",
                "Volcanoes usually give warning signs before they erupt, and "
                "volcano observatories watch them with a variety of instruments. "
                "Networks of seismometers detect swarms of small earthquakes caused "
                "by magma breaking rock as it moves upward, as well as long-period "
                "events and continuous volcanic tremor produced by fluids vibrating "
                "in cracks. Ground deformation is measured with GPS stations, "
                "tiltmeters and satellite radar interferometry, known as InSAR, "
                "which can detect a volcano's flanks swelling by a few centimetres "
                "as magma accumulates. Gas monitoring uses ultraviolet "
                "spectrometers to measure the flux of sulphur dioxide, and a rise "
                "in SO2 or in the ratio of carbon dioxide to sulphur dioxide can "
                "signal fresh magma approaching the surface. Thermal cameras and "
                "satellites track hot spots and new vents.\n\n"
                "Forecasting remains probabilistic, but it has saved many lives. "
                "Before the climactic eruption of Pinatubo in June 1991, scientists "
                "from the Philippine Institute of Volcanology and Seismology and "
                "the United States Geological Survey recognised the escalating "
                "unrest and persuaded the authorities to evacuate tens of thousands "
                "of people, as well as the nearby Clark Air Base. The evacuation is "
                "estimated to have saved at least 5,000 lives.",
            ),
            (
                "Volcanoes Beyond Earth",
                "Volcanism is not unique to Earth. Mars hosts Olympus Mons, a "
                "shield volcano about 22 kilometres high and some 600 kilometres "
                "across, the tallest known mountain in the solar system. It grew so "
                "large partly because Mars lacks plate tectonics, so its crust "
                "stayed over the same magma source for immense periods, and partly "
                "because lower surface gravity allows a taller volcanic edifice to "
                "stand. Venus is covered with volcanic plains and hundreds of large "
                "volcanoes, and a re-examination of radar images from the Magellan "
                "spacecraft published in 2023 found a volcanic vent that changed "
                "shape over eight months in 1991, strong evidence that the planet "
                "is still volcanically active.\n\n"
                "Jupiter's moon Io is the most volcanically active body known. Its "
                "volcanoes were discovered in 1979, when images from Voyager 1 "
                "showed a giant plume rising above the edge of the moon. Io's "
                "internal heat comes not mainly from radioactive decay but from "
                "tidal flexing: its orbit, kept elliptical by resonances with the "
                "neighbouring moons Europa and Ganymede, lets Jupiter's gravity "
                "alternately squeeze and stretch its interior. Its lava lakes, lava "
                "fountains and sulphur-rich plumes rise hundreds of kilometres "
                "above the surface. Farther out, icy moons display cryovolcanism, "
                "in which water and other volatile substances erupt instead of "
                "molten rock. The Cassini spacecraft observed jets of water vapour "
                "and ice grains erupting from fractures near the south pole of "
                "Saturn's moon Enceladus, material that feeds Saturn's faint E "
                "ring.",
            ),
            (
                "Living with Volcanoes",
                "Despite the danger, hundreds of millions of people live within "
                "reach of active volcanoes, and not only because of history. "
                "Volcanic ash weathers into some of the most fertile soils in the "
                "world, supporting dense farming populations on Java and around "
                "Vesuvius and Etna. Heat from shallow magma drives geothermal power "
                "plants and district heating systems; Iceland meets most of its "
                "space-heating needs with geothermal water. Volcanic activity "
                "concentrates valuable ores of copper, gold and silver, and it "
                "creates new land, as Kilauea has done by adding hundreds of acres "
                "to the coastline of Hawaii. Understanding volcanoes is ultimately "
                "about learning to share the landscape with them safely.",
            ),
        ],
    ),
    "roman_aqueducts": (
        "Roman Aqueducts: Engineering Water for an Empire",
        [
            (
                "Water for a City of a Million",
                "At its height in the second century AD, the city of Rome may have "
                "held close to a million people, and it was supplied with water on "
                "a scale that no European city would match again until the "
                "nineteenth century. The water arrived through aqueducts, "
                "artificial channels that carried water from distant springs and "
                "rivers to the city by gravity alone. The first, the Aqua Appia, "
                "was built in 312 BC under the censor Appius Claudius Caecus, the "
                "same magistrate who began the Via Appia road. It ran for about 16 "
                "kilometres, almost entirely underground. Over the next five "
                "centuries ten more major aqueducts followed, ending with the Aqua "
                "Alexandrina of AD 226, and together they delivered an amount of "
                "water that modern estimates place anywhere from several hundred "
                "thousand to about a million cubic metres a day.\n\n"
                "The image most people associate with Roman aqueducts is a line of "
                "tall stone arches striding across the countryside, but arcades "
                "were the exception. Of the roughly 500 kilometres of aqueduct "
                "channels serving ancient Rome, the great majority ran underground "
                "or at ground level, following the contours of the land. Buried "
                "channels were cheaper to build, protected the water from heat, "
                "dirt and contamination, and were harder for enemies to sabotage. "
                "Arches were used only where a channel had to cross a valley or "
                "keep its height over low ground as it approached the city.\n\n"
                "Aqueducts were not a Roman invention. Earlier civilisations, "
                "including the Assyrians and the Greeks, had built water channels "
                "and tunnels, such as the Tunnel of Eupalinos on Samos. What set "
                "the Romans apart was the scale and number of their structures and "
                "their spread across an empire that reached from Britain to Syria "
                "and North Africa. Hundreds of towns received aqueducts, which "
                "became a symbol of Roman civilisation and urban comfort as much as "
                "a practical utility.",
            ),
            (
                "Finding Sources and Surveying the Route",
                "Roman engineers preferred spring water, which was clear and cool, "
                "and chose sources high enough in the hills to allow a continuous "
                "downhill flow to the city. Because aqueducts relied entirely on "
                "gravity, the route had to be surveyed with great care. The "
                "engineer's main levelling instrument was the chorobates, described "
                "by the architect Vitruvius in the first century BC as a wooden "
                "table about twenty feet long with legs, plumb lines and a groove "
                "on top that could be filled with water and used as a level when "
                "wind disturbed the plumb lines. The groma, a cross-shaped staff "
                "with hanging plumb bobs, was used to lay out straight lines and "
                "right angles, and the dioptra, a sighting instrument inherited "
                "from Greek engineers, could measure angles and differences in "
                "height.\n\n"
                "The gradients achieved were remarkably shallow. The aqueduct that "
                "supplied Nîmes in southern France, which crosses the river Gardon "
                "on the famous Pont du Gard, descends only about 12.6 metres over a "
                "course of roughly 50 kilometres, an average of around 25 "
                "centimetres per kilometre, and some stretches are even flatter. "
                "Too steep a gradient would have made the water flow fast enough to "
                "scour the channel and overflow at bends; too shallow a gradient "
                "risked stagnation and heavy deposits. Routes were often long and "
                "winding because they had to follow contour lines around hills and "
                "into side valleys to maintain a steady fall. The Aqua Marcia, "
                "completed in 140 BC, travelled about 91 kilometres from springs in "
                "the upper Anio valley, far longer than the straight-line distance "
                "to Rome.",
            ),
            (
                "Building the Channel",
                "The heart of every aqueduct was the specus, a rectangular conduit "
                "usually wide and tall enough for a worker to walk through for "
                "inspection and cleaning. It was built of stone or brick, or cast "
                "in Roman concrete, opus caementicium, a mixture of lime mortar and "
                "rubble. Concrete made with pozzolana, a volcanic ash from the "
                "region around Pozzuoli near Naples, could set even under water and "
                "resisted cracking. The inside of the channel was lined with opus "
                "signinum, a waterproof plaster containing crushed terracotta, and "
                "the joints between the walls and floor were often sealed with a "
                "rounded quarter-round moulding to prevent leaks. The channel was "
                "covered by stone slabs or a vault to keep out sunlight and debris.\n\n"
                "Where the line ran underground, tunnels were dug from a series of "
                "vertical shafts, called putei, spaced at intervals along the "
                "route. Teams worked outward from the foot of each shaft and had to "
                "meet their neighbours underground, a demanding test of surveying "
                "that sometimes failed. An inscription from Saldae in North Africa "
                "records how two tunnelling teams each drifted off line and missed "
                "one another until the military engineer Nonius Datus was called "
                "back to correct the work. The shafts were left in place afterwards "
                "to provide access and ventilation.\n\n"
                "Where the channel had to cross a valley, engineers could either "
                "build an arcade to carry the water over it or use an inverted "
                "siphon. Arcades were built of dressed stone, brick-faced concrete "
                "or a combination, and several tiers of arches were stacked where a "
                "valley was deep. Inverted siphons carried water down one side of a "
                "valley and up the other in sealed pipes, relying on the pressure "
                "of the water column. The Romans made these pipes from lead or "
                "stone and used them where a valley was too deep for an arcade, as "
                "on the aqueducts of Lugdunum, modern Lyon, which crossed several "
                "deep valleys with batteries of parallel lead pipes. Because lead "
                "pipes were expensive and prone to bursting under high pressure, "
                "siphons remained the exception rather than the rule.",
            ),
            (
                "Famous Aqueducts",
                "The Pont du Gard is the most celebrated surviving aqueduct bridge. "
                "Built in the first century AD, it carries the Nîmes aqueduct about "
                "49 metres above the Gardon river on three tiers of arches made of "
                "large limestone blocks fitted together without mortar. Projecting "
                "stones that once supported scaffolding during construction are "
                "still visible on its faces, and a road bridge added alongside the "
                "lowest tier in the eighteenth century still carries pedestrians. "
                "In Spain, the aqueduct of Segovia crosses the city centre on a "
                "double tier of granite arches nearly 29 metres high at its tallest "
                "point; its roughly 20,000 blocks are held in place by their own "
                "weight and careful fitting, and it carried water to the city until "
                "well into the twentieth century.\n\n"
                "In Rome itself, the Aqua Claudia and the Anio Novus, both begun by "
                "the emperor Caligula and completed by Claudius in AD 52, were "
                "among the most ambitious projects. Their water entered the city on "
                "the same monumental arcade, and the double archway where they "
                "crossed two major roads survives as the Porta Maggiore. The Aqua "
                "Marcia was prized above all for its cold, clear water. The Aqua "
                "Virgo, built by Marcus Agrippa in 19 BC to supply his public "
                "baths, followed a mostly underground route and has never entirely "
                "ceased to function; restored in the Renaissance as the Acqua "
                "Vergine, it still feeds the Trevi Fountain. Outside Italy, the "
                "aqueducts of Carthage, Caesarea Maritima, Mérida and Cologne show "
                "the same engineering tradition adapted to local terrain and "
                "building materials.",
            ),
            (
                "Distributing Water in the City",
                "When an aqueduct reached the edge of a city, its water first "
                "passed through settling tanks, the piscinae limariae, where sand "
                "and sediment could fall out. It then entered a distribution tank "
                "called a castellum divisorium. The castellum at Nîmes still "
                "survives: a circular basin about 5.5 metres across, with openings "
                "in its wall from which ten large lead pipes once fanned out to "
                "different districts. From such main distribution points, water "
                "flowed into secondary water towers and finally through lead pipes, "
                "called fistulae, to individual destinations. Pipes were made by "
                "folding sheets of lead around a wooden core and sealing the seam, "
                "and many were stamped with the name of the emperor, the owner of "
                "the property or the plumber who made them. The Latin word for "
                "lead, plumbum, is the root of the English word plumber.\n\n"
                "Water was allocated by priority. Vitruvius recommended that a "
                "castellum be divided into three parts: one for public basins and "
                "fountains, one for the public baths and one for private houses. "
                "Most Romans drew their water from the hundreds of public street "
                "basins, or lacus, which ran continuously; the constant overflow "
                "also flushed the streets and the sewers. Wealthy citizens could "
                "apply for a grant to pipe water into their homes, and the right "
                "was personal, lapsing when the owner died or sold the property. "
                "The flow allotted to each user was controlled by a bronze nozzle "
                "of standard diameter, the calix, set into the wall of the "
                "distribution tank.",
            ),
            (
                "Frontinus and the Water Commission",
                "Much of what we know about how Rome's aqueducts were managed comes "
                "from Sextus Julius Frontinus, a former consul and governor of "
                "Britain who was appointed curator aquarum, commissioner of the "
                "water supply, by the emperor Nerva in AD 97. Frontinus wrote a "
                "treatise, De aquis urbis Romae, that describes each aqueduct's "
                "source, length and capacity, the laws protecting the system and "
                "the abuses he uncovered. He measured flows in a unit called the "
                "quinaria, based on the cross-section of a standard pipe, and "
                "compared the official records of what each aqueduct delivered with "
                "what actually arrived. The discrepancies were large. Water was "
                "being stolen through illegal taps, by pipes run secretly from the "
                "channels to private estates, through oversized nozzles and by "
                "water men who took bribes to divert the flow. Frontinus also "
                "complained that landowners along the routes punctured the channels "
                "to irrigate their fields.\n\n"
                "The water commission employed a permanent workforce, the familia "
                "aquarum. Agrippa had created a private gang of 240 slaves to "
                "maintain the system, which Augustus later made public property, "
                "and Claudius added a second gang of 460. These workers included "
                "overseers, reservoir keepers, inspectors, pavers and plasterers. "
                "Roman law imposed heavy fines for polluting aqueduct water or "
                "damaging the conduits, and it kept a strip of land on each side of "
                "the channels clear of trees, buildings and graves so that roots "
                "and construction would not damage them.",
            ),
            (
                "Maintaining the Flow",
                "Aqueducts needed constant maintenance. Hard water from limestone "
                "springs deposited calcium carbonate on the walls and floor of the "
                "channel, forming a stony crust called sinter that could grow by a "
                "millimetre or more a year and gradually narrow the conduit. Crews "
                "entered the specus to chip away deposits, repair cracks, remove "
                "roots and clear debris, and some aqueducts had parallel channels "
                "or bypasses so that the flow could be diverted during repairs. In "
                "the Eifel aqueduct, which ran about 95 kilometres from the Eifel "
                "hills to Roman Cologne, the sinter built up into thick, banded "
                "layers. After the aqueduct fell out of use, medieval builders "
                "quarried this material, polished it and used it as a decorative "
                "stone resembling marble in churches across the region.\n\n"
                "The sinter in abandoned channels has also become a valuable "
                "archive for archaeologists. Its layers record seasonal changes in "
                "water temperature and chemistry, and by counting them researchers "
                "can estimate how long an aqueduct operated and how often it was "
                "cleaned.",
            ),
            (
                "What the Water Was Used For",
                "The flowing water served public health, pleasure and industry. "
                "Public baths consumed enormous quantities: the Baths of Caracalla, "
                "opened in the AD 210s, could accommodate well over a thousand "
                "bathers at once and were supplied by a dedicated branch of the "
                "Aqua Marcia, the Aqua Antoniniana. Public latrines were built over "
                "continuous flows of water that carried waste into the sewers, "
                "including the great Cloaca Maxima. Ornamental fountains and "
                "nymphaea decorated squares and villas, and gardens were irrigated "
                "with surplus water.\n\n"
                "Aqueduct water also powered machinery. At Barbegal near Arles in "
                "southern France, an aqueduct branch drove a flour mill complex of "
                "sixteen water wheels arranged in two parallel rows down a steep "
                "hillside, capable of grinding large quantities of grain in the "
                "second century AD. In the gold mines of north-western Spain, "
                "especially at Las Médulas, engineers built networks of channels "
                "and reservoirs to release torrents of water that washed away "
                "hillsides and exposed gold-bearing gravels, a technique that Pliny "
                "the Elder described as ruina montium, the wrecking of mountains.",
            ),
            (
                "Decline and Legacy",
                "As the western empire weakened, maintenance faltered and channels "
                "silted up with sinter and debris. In AD 537, during the Gothic "
                "War, the besieging army of the Ostrogothic king Vitiges cut the "
                "aqueducts of Rome, and although some were later repaired, the "
                "city's population had shrunk and it came to rely largely on wells, "
                "the Tiber and the surviving Aqua Virgo. Medieval Romans settled in "
                "the low-lying districts near the river rather than on the hills "
                "that the aqueducts had once made habitable.\n\n"
                "Beginning in the fifteenth century, the popes restored parts of "
                "the ancient system. Nicholas V repaired the Aqua Virgo in 1453, "
                "Sixtus V built the Acqua Felice in 1586 largely along old Roman "
                "routes, and Paul V completed the Acqua Paola in 1612, reusing the "
                "line of Trajan's aqueduct. Many Roman aqueducts elsewhere "
                "continued in use or were rebuilt, and their principles, a steady "
                "gradient, a protected channel, settling tanks and controlled "
                "distribution, informed the engineers who built the water supplies "
                "of modern cities. The arches that remain, from Segovia to "
                "Tarragona and from the Pont du Gard to the countryside south-east "
                "of Rome, are still among the most recognisable monuments of Roman "
                "engineering.",
            ),
        ],
    ),
    "jazz_history": (
        "A Short History of Jazz",
        [
            (
                "New Orleans Roots",
                "Jazz emerged in New Orleans around the turn of the twentieth "
                "century, out of a mixture of musical traditions found nowhere else "
                "in the United States in the same concentration. The city's African "
                "American community had kept alive rhythmic practices that reached "
                "back to the Sunday gatherings of enslaved Africans in Congo "
                "Square, where drumming and dancing were permitted in the early "
                "nineteenth century. To these were added the blues, with its bent "
                "blue notes and call-and-response phrasing, the syncopated piano "
                "music of ragtime, spirituals and church singing, and the marches "
                "played by the city's many brass bands at parades, picnics and "
                "funerals. Creole musicians of mixed French, Spanish and African "
                "descent, many trained in European classical technique, contributed "
                "music-reading skills and instrumental polish.\n\n"
                "Early New Orleans bands typically placed a cornet or trumpet, a "
                "clarinet and a trombone in front of a rhythm section of banjo or "
                "guitar, tuba or string bass, drums and sometimes piano. The cornet "
                "carried the melody, the clarinet wove fast decorative lines above "
                "it and the trombone filled in slides and harmony below, all three "
                "improvising at once in a texture called collective improvisation. "
                "Cornetist Buddy Bolden, who led a popular band in the years around "
                "1900, is remembered as one of the first jazz musicians, although "
                "no recording of his playing survives. Ragtime composers such as "
                'Scott Joplin, whose "Maple Leaf Rag" was published in 1899, '
                "supplied the syncopation and multi-strain forms that early jazz "
                "borrowed.",
            ),
            (
                "Recordings and the Jazz Age",
                "The first jazz records were made in 1917 by the Original Dixieland "
                'Jass Band, a group of white New Orleans musicians whose "Livery '
                'Stable Blues" became a surprise hit and helped spread the new '
                "music across the country. During the Great Migration, many Black "
                "musicians moved north to Chicago, New York and other cities in "
                "search of work and of freedom from the Jim Crow laws of the South. "
                'In Chicago, cornetist Joe "King" Oliver led his Creole Jazz Band, '
                "and in 1922 he sent for a young cornetist from New Orleans named "
                "Louis Armstrong.\n\n"
                "Armstrong transformed jazz from an ensemble music into a soloist's "
                "art. His Hot Five and Hot Seven recordings, made between 1925 and "
                "1928, showcased brilliant improvised solos with a new rhythmic "
                'freedom, a relaxed swing that floated over the beat. "West End '
                'Blues" of 1928 opens with an unaccompanied trumpet cadenza that '
                "became one of the most celebrated passages in recorded music. "
                "Armstrong also popularised scat singing, improvising with wordless "
                "syllables, and his gravelly vocals influenced generations of "
                "singers. Pianist and composer Jelly Roll Morton, who claimed with "
                "characteristic immodesty to have invented jazz, made carefully "
                "arranged recordings with his Red Hot Peppers, while cornetist Bix "
                "Beiderbecke offered a lyrical, bell-like alternative to "
                "Armstrong's fire. The 1920s became known as the Jazz Age, as the "
                "music filled speakeasies, dance halls and the new medium of radio.",
            ),
            (
                "The Swing Era",
                "From the early 1930s to the mid-1940s, jazz was the popular music "
                "of America, played by big bands of twelve to eighteen musicians "
                "for dancers in ballrooms across the country. A swing band divided "
                "its horns into sections of trumpets, trombones and saxophones, "
                "which traded riffs, short repeated phrases, in call-and-response "
                "patterns over a rhythm section that had smoothed the two-beat feel "
                "of early jazz into an even, propulsive four beats to the bar. "
                "Arrangers such as Fletcher Henderson and Don Redman developed the "
                "written arrangements that made this style possible.\n\n"
                "Duke Ellington, whose orchestra held a long residency at Harlem's "
                "Cotton Club from 1927, composed for the distinctive voices of his "
                'individual players and wrote hundreds of pieces, from "Mood '
                'Indigo" to extended suites. Count Basie brought the loose, '
                "blues-based riff style of Kansas City, driven by a light, swinging "
                "rhythm section. Benny Goodman, billed as the King of Swing, led "
                "one of the first racially integrated bands to perform in public "
                "and staged a famous concert at Carnegie Hall in 1938. Singers "
                "including Billie Holiday and Ella Fitzgerald rose to fame in the "
                "same era, and tenor saxophonist Coleman Hawkins's 1939 recording "
                'of "Body and Soul" showed how far an improviser could stray from a '
                "melody while remaining coherent.",
            ),
            (
                "Bebop",
                "In the early 1940s a group of young musicians began experimenting "
                "in after-hours jam sessions at Minton's Playhouse and Monroe's "
                "Uptown House in Harlem. The style they developed, bebop, was music "
                "for listening rather than dancing. Alto saxophonist Charlie Parker "
                "and trumpeter Dizzy Gillespie played long, rapid lines full of "
                "chromatic passing notes at blistering tempos, and they wrote new "
                "melodies over the chord progressions of popular songs, so that "
                'George Gershwin\'s "I Got Rhythm" became the basis for countless '
                "bebop tunes. They extended harmonies with ninths, elevenths and "
                "thirteenths and used chord substitutions and the flatted fifth, an "
                "interval that became a signature of the style. Pianists Thelonious "
                "Monk and Bud Powell and drummer Kenny Clarke were central figures; "
                "Clarke moved the basic timekeeping from the bass drum to the ride "
                "cymbal and used the bass drum for sudden accents known as dropping "
                "bombs.\n\n"
                "Bebop was played by small combos of four or five musicians, "
                "usually stating a complex unison theme before a series of "
                "improvised solos and a final restatement of the theme. A recording "
                "ban called by the American Federation of Musicians from 1942 to "
                "1944 meant that much of bebop's formative period was never "
                "documented on commercial records, so the style seemed to appear "
                "fully formed when recording resumed.",
            ),
            (
                "Cool, Hard Bop and Modal Jazz",
                "In 1949 and 1950 trumpeter Miles Davis led a nine-piece band whose "
                "recordings, later collected as Birth of the Cool, offered soft "
                "tones, light textures and carefully arranged parts. They inspired "
                "a West Coast cool style associated with Gerry Mulligan, Chet Baker "
                'and Dave Brubeck. The Dave Brubeck Quartet\'s "Take Five", written '
                "by saxophonist Paul Desmond in 5/4 time, became one of the "
                "best-selling jazz singles ever. In contrast, hard bop, led by "
                "drummer Art Blakey's Jazz Messengers and pianist Horace Silver, "
                "returned to the blues and gospel music for a muscular, soulful "
                "sound.\n\n"
                "Davis then pioneered modal jazz, in which improvisation is based "
                "on scales, or modes, held for long stretches instead of rapidly "
                "changing chords. His 1959 album Kind of Blue, with John Coltrane, "
                "Cannonball Adderley and Bill Evans, is the best-selling album in "
                'jazz history; its opening track "So What" alternates between two '
                "Dorian modes. Coltrane pushed harmonic complexity to its limit "
                'with "Giant Steps" in 1960 and then moved toward spiritual, modal '
                "searching on A Love Supreme, recorded in 1964.",
            ),
            (
                "Latin Jazz and Bossa Nova",
                "Caribbean rhythms had been part of jazz since its New Orleans "
                'beginnings, when Jelly Roll Morton spoke of the "Spanish tinge" '
                "that every good jazz piece needed. In the 1940s the connection "
                "grew much deeper. In New York, Machito and his Afro-Cubans, with "
                "musical director Mario Bauzá, fused big-band jazz harmony with the "
                "clave rhythms of Cuban dance music, and Dizzy Gillespie hired the "
                'Cuban conga player Chano Pozo, with whom he wrote "Manteca" in '
                "1947. The resulting Afro-Cuban jazz, sometimes nicknamed Cubop, "
                "added congas, bongos and timbales to the jazz rhythm section and "
                "layered interlocking rhythmic patterns beneath bebop solos.\n\n"
                "A second wave came from Brazil. In the late 1950s guitarist João "
                "Gilberto and composer Antonio Carlos Jobim created bossa nova, "
                "which combined the rhythms of samba with the quiet dynamics and "
                "rich chords of cool jazz. American musicians embraced it quickly, "
                "and Getz/Gilberto, recorded by saxophonist Stan Getz with Gilberto "
                "and Jobim, won the Grammy Award for Album of the Year in 1965 on "
                'the strength of "The Girl from Ipanema".',
            ),
            (
                "Free Jazz and Fusion",
                "Around 1959 alto saxophonist Ornette Coleman challenged the "
                "conventions of chord changes altogether. Albums such as The Shape "
                "of Jazz to Come and the collectively improvised Free Jazz "
                "abandoned fixed harmonic structures and let the musicians respond "
                "to one another melodically. Pianist Cecil Taylor, the later "
                "Coltrane and players associated with Chicago's Association for the "
                "Advancement of Creative Musicians explored similar freedom, often "
                "with dense and intense textures.\n\n"
                "At the end of the 1960s Miles Davis changed direction again, "
                "adding electric keyboards, electric guitar and rock rhythms on In "
                "a Silent Way and Bitches Brew. The resulting jazz-rock fusion was "
                "carried forward by his former sidemen: Herbie Hancock's Head "
                "Hunters brought funk grooves to a huge audience in 1973, Wayne "
                "Shorter and Joe Zawinul formed Weather Report, Chick Corea led "
                "Return to Forever and guitarist John McLaughlin founded the "
                "Mahavishnu Orchestra.",
            ),
            (
                "Jazz Today",
                "Since the 1980s, jazz has existed both as a living popular art and "
                "as a classical tradition. Trumpeter Wynton Marsalis championed the "
                "acoustic lineage and became artistic director of Jazz at Lincoln "
                "Center in New York, while universities and conservatories around "
                "the world now teach jazz improvisation, harmony and arranging. "
                "Standards from the Great American Songbook and classic jazz "
                "compositions, collected in fake books such as the Real Book, "
                "remain a common language that lets musicians who have never met "
                "play a gig together. At the same time, musicians such as Kamasi "
                "Washington, Esperanza Spalding and Robert Glasper blend jazz with "
                "hip-hop, soul, African and Latin music, and vibrant scenes thrive "
                "in London, Johannesburg, Havana and Tokyo. Through all these "
                "changes, improvisation, swing and the blues remain the threads "
                "that hold the tradition together.",
            ),
        ],
    ),
    "sourdough_baking": (
        "Sourdough Baking: From Starter to Loaf",
        [
            (
                "What Makes Bread Sourdough",
                "Sourdough bread is leavened not with commercial baker's yeast but "
                "with a starter, a living culture of wild yeasts and lactic acid "
                "bacteria maintained in a paste of flour and water. It is the "
                "oldest form of leavened bread: for thousands of years, from "
                "ancient Egypt to the nineteenth century, bakers raised their "
                "loaves by saving a piece of fermented dough from one batch and "
                "mixing it into the next. Commercial yeast, a single selected "
                "strain of Saccharomyces cerevisiae sold in blocks or dried "
                "granules, only became widespread in the late nineteenth century. "
                "Sourdough's slow, mixed fermentation gives the bread a tangy "
                "flavour, a chewy, open crumb, a thick caramelised crust and a "
                "longer shelf life.\n\n"
                "In a healthy starter the yeasts and bacteria live in a stable "
                "partnership. The yeasts ferment sugars released from the flour's "
                "starch into carbon dioxide, which inflates the dough, and ethanol, "
                "which mostly evaporates during baking. The lactic acid bacteria, "
                "such as Fructilactobacillus sanfranciscensis, named after the "
                "famous sourdough of San Francisco, produce lactic acid and acetic "
                "acid that lower the pH and inhibit competing microbes. Many "
                "starters contain yeasts such as Kazachstania humilis that tolerate "
                "acidity and do not consume maltose, leaving that sugar to the "
                "bacteria, which prefer it.",
            ),
            (
                "Making and Keeping a Starter",
                "A starter can be made from nothing but flour and water, because "
                "the necessary microbes already live on grain and in the kitchen "
                "environment. Whole wheat or rye flour works best to begin with, as "
                "it carries more microbes and nutrients than white flour. Equal "
                "weights of flour and water are stirred together and left at room "
                "temperature, and every day most of the mixture is discarded and "
                "the remainder refreshed with new flour and water. In the first few "
                "days the culture may bubble vigorously and smell odd as a "
                "succession of bacteria compete; after one to two weeks the "
                "acid-tolerant community stabilises and the starter rises and falls "
                "predictably after each feeding.\n\n"
                "Once established, a starter is maintained by regular feedings. A "
                "common schedule mixes one part starter with one part flour and one "
                "part water by weight, a 1:1:1 feeding at 100 percent hydration, "
                "meaning equal weights of water and flour. At about 24 degrees "
                "Celsius such a starter typically doubles in four to eight hours, "
                "reaches its peak and then collapses as its food runs out. Bakers "
                "use it at or near the peak, when the yeast population is most "
                "active. A starter that will not be used for several days can be "
                "kept in the refrigerator and fed weekly. The portion of starter "
                "built up specifically for a bake is called the levain.",
            ),
            (
                "Flavour and Acidity",
                "The character of sourdough depends on the balance between lactic "
                "and acetic acid. Lactic acid has a mild, creamy sourness "
                "reminiscent of yoghurt, while acetic acid is sharper and vinegary. "
                "Bakers can steer this balance through temperature and hydration. "
                "Warm, wet doughs and starters favour lactic acid production, "
                "giving a milder loaf, while cooler fermentation and stiff, "
                "low-hydration starters shift the balance toward acetic acid and a "
                "more pronounced tang. Long, cold fermentation also gives enzymes "
                "time to break proteins and starches down into flavourful amino "
                "acids and sugars.\n\n"
                "Acidification has practical benefits beyond flavour. A finished "
                "sourdough loaf typically has a pH of around 4, low enough to slow "
                "the growth of mould and to delay staling. The acids tighten the "
                "gluten network, and the long fermentation activates the enzyme "
                "phytase, which breaks down phytic acid in the bran and may make "
                "minerals such as iron and zinc more available to the body. Rye "
                "bread in particular depends on acidity: rye flour is rich in "
                "amylase enzymes that would otherwise digest its starch into a "
                "gummy mess during baking.",
            ),
            (
                "Mixing and Bulk Fermentation",
                "Sourdough recipes are written in baker's percentages, in which the "
                "weight of each ingredient is expressed relative to the total flour "
                "weight, counted as 100 percent. A typical country loaf might use "
                "1,000 grams of bread flour, 750 grams of water (75 percent "
                "hydration), 200 grams of ripe levain (20 percent) and 20 grams of "
                "salt (2 percent). Higher hydration produces a more open, irregular "
                "crumb but a stickier dough that is harder to shape.\n\n"
                "Many bakers begin with an autolyse, a technique popularised by the "
                "French bread scientist Raymond Calvel: the flour and water are "
                "mixed and left to rest for thirty minutes to an hour before the "
                "levain and salt are added. During this rest the flour hydrates "
                "fully and the gluten proteins, glutenin and gliadin, begin to link "
                "into an elastic network without any kneading. Instead of intensive "
                "kneading, most sourdough doughs are then strengthened during bulk "
                "fermentation by a series of stretch and folds, in which the baker "
                "lifts one side of the dough, stretches it upward and folds it over "
                "the top, turning the bowl and repeating on each side every thirty "
                "minutes or so for the first two hours.\n\n"
                "Bulk fermentation, the first rise of the whole batch of dough, "
                "usually lasts four to six hours at 24 to 26 degrees Celsius, "
                "although the exact timing depends on the strength of the starter "
                "and the temperature of the dough. Bakers judge its end by "
                "appearance rather than by the clock: the dough should have grown "
                "by roughly half to three quarters in volume, feel airy and jiggly, "
                "show a domed surface and have bubbles visible at the sides of the "
                "container.",
            ),
            (
                "Shaping and Proofing",
                "After bulk fermentation, the dough is turned out, divided and "
                "loosely pre-shaped into rounds, then left to relax on the bench "
                "for twenty to thirty minutes. The final shaping creates tension in "
                "the outer skin of the loaf, either as a round boule or an oval "
                "batard, so that it holds its shape and rises upward in the oven. "
                "The shaped loaf is placed seam side up in a banneton, a proofing "
                "basket dusted with rice flour, which absorbs little moisture and "
                "so prevents sticking.\n\n"
                "The final proof can take place at room temperature for one to "
                "three hours, but many bakers retard the shaped loaves in the "
                "refrigerator at about 4 degrees Celsius for eight to sixteen "
                "hours. The cold retard deepens flavour, fits the process into a "
                "convenient schedule and firms the dough so that it is easier to "
                "score. A simple poke test helps judge readiness: a floured "
                "fingertip pressed into the dough should leave a dent that springs "
                "back slowly and only partly. If it springs back instantly, the "
                "loaf needs more time; if it does not spring back at all, it is "
                "overproofed.",
            ),
            (
                "Baking the Loaf",
                "Home bakers commonly bake sourdough in a heavy cast-iron Dutch "
                "oven preheated to around 250 degrees Celsius. The lid traps steam "
                "released by the dough, keeping the surface moist and extensible "
                "during the first stage of baking so that the loaf can expand "
                "fully, a burst known as oven spring. Just before baking, the loaf "
                "is scored with a razor blade mounted on a handle, called a lame. A "
                "shallow, angled cut lets the loaf open in a controlled way and can "
                "lift into a crisp flap of crust called an ear.\n\n"
                "After about twenty minutes the lid is removed and the temperature "
                "lowered slightly, and the loaf bakes for another twenty to "
                "twenty-five minutes until the crust is deeply browned. The colour "
                "and much of the flavour come from the Maillard reaction between "
                "amino acids and sugars and from the caramelisation of sugars. The "
                "interior should reach about 96 to 98 degrees Celsius. The bread "
                "should cool for at least an hour before slicing, because the crumb "
                "is still setting as the starch gelatinised during baking firms up "
                "and excess moisture escapes; cutting too early leaves a gummy "
                "texture.",
            ),
            (
                "Working with Whole Grains and Rye",
                "Whole wheat, spelt and rye flours change the behaviour of a "
                "sourdough. The bran and germ carry more minerals and enzymes and "
                "feed the microbes generously, so doughs with a high share of whole "
                "grain ferment noticeably faster and often need a shorter bulk "
                "fermentation or a cooler room. Bran particles absorb extra water "
                "and cut through gluten strands, so whole-grain doughs usually need "
                "higher hydration and bake into a tighter crumb. Many bakers begin "
                "by replacing 10 to 30 percent of the white flour with whole wheat, "
                "which adds a nutty flavour without sacrificing much volume.\n\n"
                "The traditional rye breads of Germany, Scandinavia and the Baltic "
                "countries are made differently. Rye forms little gluten, and the "
                "structure of its dough comes instead from pentosans, gummy "
                "carbohydrates that bind large amounts of water. A rye dough is "
                "therefore mixed rather than kneaded, behaves more like a thick "
                "paste than an elastic dough and is often baked in a tin. A dense "
                "rye loaf is best left to rest for a day after baking so that its "
                "moist crumb can set before slicing.",
            ),
            (
                "Troubleshooting Common Problems",
                "A dense, tight crumb with a few large holes usually indicates "
                "underfermentation, either because the starter was weak or because "
                "bulk fermentation was cut short. A loaf that spreads flat, lacks "
                "oven spring and tastes very sour is often overproofed, its gluten "
                "network exhausted by acid and enzymes. A large gap under the top "
                "crust, sometimes called a flying crust, can result from "
                "underproofing or from shaping with too much flour trapped between "
                "layers. A starter that smells strongly of nail polish remover or "
                "has a layer of grey liquid, called hooch, on top is simply hungry "
                "and needs more frequent feeding. Because fermentation is a "
                "biological process, keeping notes on times, temperatures and flour "
                "types is the surest way to bake consistent sourdough.",
            ),
        ],
    ),
    "chess_openings": (
        "Chess Openings: Principles and Main Lines",
        [
            (
                "Principles of the Opening",
                "The opening is the first phase of a chess game, usually the first "
                "ten to fifteen moves, during which both players mobilise their "
                "pieces and stake out territory. Although thousands of named "
                "variations exist, a few principles explain most good opening play. "
                "The first is to fight for the centre, the squares e4, d4, e5 and "
                "d5, because pieces placed there control more of the board and can "
                "move quickly to either wing. The second is rapid development: "
                "knights and bishops should leave the back rank early, ideally each "
                "moving once, rather than one piece making several moves while the "
                "rest wait. The third is king safety, usually achieved by castling, "
                "which tucks the king behind a wall of pawns and connects the "
                "rooks. Bringing the queen out too early is generally a mistake, "
                "because the opponent can attack it with minor pieces and gain "
                "time, or tempo, while developing.\n\n"
                "Openings are catalogued in the Encyclopaedia of Chess Openings, "
                "which assigns every line a code from A00 to E99. Broadly, codes "
                "beginning with B and C cover games starting 1.e4, those beginning "
                "with D and E cover games starting 1.d4, and the A codes contain "
                "flank openings and other first moves.",
            ),
            (
                "Open Games: 1.e4 e5",
                "When White opens 1.e4 and Black answers symmetrically with 1...e5, "
                "the result is an open game, in which pawn exchanges tend to open "
                "lines for the pieces. After 2.Nf3 Nc6, the most respected "
                "continuation is the Ruy Lopez, or Spanish Game, 3.Bb5, named after "
                "a sixteenth-century Spanish priest who analysed it. The bishop "
                "pressures the knight that defends Black's e5 pawn, and the "
                "resulting positions involve slow manoeuvring and long-term "
                "pressure. Black most often replies 3...a6, the Morphy Defence, but "
                "the solid Berlin Defence, 3...Nf6, gained fame when Vladimir "
                "Kramnik used it to neutralise Garry Kasparov's 1.e4 in their 2000 "
                "world championship match, earning it the nickname the Berlin Wall.\n\n"
                "The Italian Game, 3.Bc4, aims the bishop at the weak f7 square, "
                "the point next to Black's king that only the king defends. Its "
                "quiet Giuoco Piano form leads to strategic play, while the Evans "
                "Gambit sacrifices a pawn with 4.b4 for rapid development. Older "
                "and more romantic is the King's Gambit, 2.f4, in which White "
                "offers a pawn to deflect Black's e-pawn and open the f-file for an "
                "attack; it was the height of fashion in the nineteenth century. "
                "The Scotch Game, 3.d4, opens the centre immediately.",
            ),
            (
                "Semi-Open Defences",
                "Black can avoid symmetrical play after 1.e4 with a semi-open "
                "defence. The Sicilian Defence, 1...c5, is the most popular and "
                "statistically most successful reply at master level. By trading a "
                "flank pawn for White's central d-pawn, Black creates an unbalanced "
                "position with chances for both sides. Its many branches include "
                "the Najdorf Variation, 5...a6, a favourite of both Bobby Fischer "
                "and Garry Kasparov, the sharp Dragon Variation, in which Black "
                "fianchettoes the king's bishop on g7, and the dynamic Sveshnikov "
                "Variation.\n\n"
                "The French Defence, 1...e6 followed by 2...d5, builds a solid pawn "
                "chain and counterattacks White's centre, at the cost of blocking "
                "in Black's light-squared bishop, often called the problem piece of "
                "the French. The Caro-Kann Defence, 1...c6 and 2...d5, supports the "
                "d5 advance with the c-pawn instead, keeping the light-squared "
                "bishop free and producing famously sturdy positions. More "
                "provocative are the Pirc Defence and Alekhine's Defence, 1...Nf6, "
                "which invite White to build a broad pawn centre and then try to "
                "undermine it.",
            ),
            (
                "Closed Games and Indian Defences",
                "After 1.d4 d5, White's main weapon is the Queen's Gambit, 2.c4, "
                "which offers the c-pawn to draw Black's d-pawn away from the "
                "centre. Black can accept the offer with 2...dxc4, the Queen's "
                "Gambit Accepted, knowing that the pawn is hard to keep, or decline "
                "it with 2...e6, the Queen's Gambit Declined, a rock-solid system "
                "used in countless world championship games, or with 2...c6, the "
                "Slav Defence.\n\n"
                "In the early twentieth century, the hypermodern school of Aron "
                "Nimzowitsch and Richard Réti argued that the centre could be "
                "controlled from a distance by pieces rather than occupied by "
                "pawns. Their ideas gave rise to the Indian Defences, which begin "
                "1.d4 Nf6. In the Nimzo-Indian Defence, 2.c4 e6 3.Nc3 Bb4, Black "
                "pins White's knight to restrain e4 and is often willing to give up "
                "the bishop pair to damage White's pawn structure. In the King's "
                "Indian Defence, Black fianchettoes the bishop on g7, allows White "
                "a big pawn centre and then strikes back with ...e5 or ...c5, often "
                "leading to attacks on opposite wings. The Grünfeld Defence, "
                "3...d5, lets White build a centre in order to attack it with "
                "pieces. White can also begin with flank openings such as the "
                "English Opening, 1.c4, or the Réti Opening, 1.Nf3, which often "
                "transpose into the same structures.",
            ),
            (
                "How to Study Openings",
                "Memorising long sequences of moves is far less valuable than "
                "understanding the plans and pawn structures that arise from an "
                "opening. A player who knows why the pieces belong on certain "
                "squares can find good moves when an opponent deviates from theory, "
                "while one who has only memorised lines is lost as soon as the book "
                "runs out. Most coaches recommend building a small, coherent "
                "repertoire, one answer to 1.e4 and one to 1.d4 as Black and one "
                "main system as White, and studying model games by strong players "
                "in those lines. Chess engines such as Stockfish and online "
                "databases of millions of games make it easy to check analysis and "
                "follow current theory, but they are most useful after a player has "
                "tried to understand a position independently.",
            ),
        ],
    ),
    "honeybees": (
        "Honeybees: Life Inside the Hive",
        [
            (
                "The Colony as a Superorganism",
                "The western honeybee, Apis mellifera, lives in colonies that "
                "function so much like a single organism that biologists often call "
                "them superorganisms. A strong colony in summer contains a single "
                "queen, tens of thousands of female workers, typically 20,000 to "
                "60,000 or more, and a few hundred to a few thousand males, the "
                "drones. No individual bee can survive for long on its own; the "
                "colony as a whole gathers food, regulates its temperature, defends "
                "itself and reproduces. Native to Africa, Europe and western Asia, "
                "honeybees have since been carried by people to every continent "
                "except Antarctica.\n\n"
                "The queen is the only fully fertile female and the mother of "
                "nearly all the bees in the hive. Workers are also female but "
                "normally do not lay eggs; they perform all the labour of the "
                "colony. Drones have no sting, do not forage and exist only to mate "
                "with young queens from other colonies. In autumn, when nectar "
                "becomes scarce, the workers drive the drones out of the hive to "
                "die.",
            ),
            (
                "Castes and Development",
                "Honeybees undergo complete metamorphosis, passing through egg, "
                "larva, pupa and adult stages inside the wax cells of the comb. A "
                "queen develops in about 16 days from egg to adult, a worker in "
                "about 21 days and a drone in about 24. Sex is determined by a "
                "system called haplodiploidy: a fertilised egg becomes a female and "
                "an unfertilised egg becomes a male, so drones have a mother but no "
                "father. The queen controls which kind of egg she lays, depositing "
                "fertilised eggs in worker cells and unfertilised eggs in the "
                "slightly larger drone cells.\n\n"
                "Whether a female larva becomes a queen or a worker depends on diet "
                "rather than genes. All young larvae are fed royal jelly, a "
                "protein-rich secretion produced by the hypopharyngeal and "
                "mandibular glands in the heads of young worker bees. Worker larvae "
                "are switched after about three days to a diet that includes honey "
                "and pollen, while larvae destined to become queens are raised in "
                "large, peanut-shaped queen cells and fed abundant royal jelly "
                "throughout their development. The queen that emerges is larger, "
                "has fully developed ovaries and can live for several years, "
                "compared with weeks or months for a worker.\n\n"
                "A few days after emerging, a virgin queen flies out on one or more "
                "mating flights to drone congregation areas, where she mates in the "
                "air with roughly ten to twenty drones, each of which dies after "
                "mating. She stores their sperm in an organ called the spermatheca "
                "and draws on it for the rest of her life, laying 1,500 or more "
                "eggs a day at the height of the season.",
            ),
            (
                "A Worker's Career",
                "Worker bees change jobs as they age, a pattern called age "
                "polyethism. During her first days as an adult a worker cleans and "
                "polishes cells. She then becomes a nurse bee, feeding larvae with "
                "secretions from her glands, and later turns to tasks such as "
                "attending the queen, building comb from wax secreted by glands on "
                "the underside of her abdomen, receiving and processing nectar from "
                "foragers, and ventilating the hive by fanning her wings. Around "
                "her third week she may serve as a guard at the entrance, checking "
                "the scent of incoming bees. In the final stage of life, from about "
                "three weeks of age, she becomes a forager, flying out to collect "
                "nectar, pollen, water and plant resins.\n\n"
                "A summer worker usually lives only five to six weeks, worn out by "
                "the demands of foraging flight. Workers raised in late autumn, "
                "called winter bees, have larger fat bodies and can live four to "
                "six months, carrying the colony through to spring.",
            ),
            (
                "Wax, Comb and Propolis",
                "Honeybee comb is built from beeswax, which workers secrete as "
                "thin, transparent scales from eight wax glands on their abdomen. "
                "Producing wax is metabolically expensive, and bees must consume "
                "several kilograms of honey to make each kilogram of wax. The bees "
                "chew and shape the scales into back-to-back layers of hexagonal "
                "cells. The hexagon is an efficient shape: it divides a surface "
                "into equal cells with the least total wall length, so it holds the "
                "most honey for the least wax, as mathematicians have since proved. "
                "The same cells serve as nurseries for brood and as storage jars "
                "for honey and pollen, with brood typically in the central and "
                "lower parts of the comb and honey stored above and around it.\n\n"
                "Bees also collect resins from tree buds and bark and mix them with "
                "wax to make propolis, a sticky substance used to seal cracks, "
                "narrow the hive entrance and coat interior surfaces. Propolis has "
                "antimicrobial properties, and a coating of it around the nest acts "
                "as a kind of colony-level immune defence.",
            ),
            (
                "From Nectar to Honey",
                "Foragers suck nectar from flowers with their long tongue, the "
                "proboscis, and carry it back in a special honey stomach, or crop. "
                "At the hive they pass the nectar to receiver bees, which add the "
                "enzyme invertase, splitting sucrose into glucose and fructose, and "
                "glucose oxidase, which produces small amounts of hydrogen peroxide "
                "that helps prevent spoilage. The receivers spread the watery "
                "nectar in cells, and house bees fan their wings to evaporate water "
                "until the honey contains only about 17 to 18 percent moisture, too "
                "little for yeasts and bacteria to grow. Finally the cells are "
                "capped with wax. A colony needs many thousands of foraging trips "
                "to produce a single kilogram of honey.\n\n"
                "Pollen provides protein, fats, vitamins and minerals. Foragers "
                "groom pollen from their hairy bodies and pack it, moistened with "
                "nectar, into pollen baskets, or corbiculae, on their hind legs. In "
                "the hive it is packed into cells and fermented into bee bread, the "
                "main food that nurse bees convert into brood food.",
            ),
            (
                "The Waggle Dance",
                "A successful forager can tell her nestmates where to find food "
                "using a remarkable symbolic language first decoded by the Austrian "
                "biologist Karl von Frisch, who shared the 1973 Nobel Prize in "
                "Physiology or Medicine for his work. For food sources close to the "
                "hive, a bee performs a round dance, circling alternately left and "
                "right, which tells others that food is nearby without specifying "
                "the direction. For more distant sources she performs the waggle "
                "dance on the vertical surface of the comb in the darkness of the "
                "hive. She runs straight ahead while waggling her abdomen from side "
                "to side, then circles back to repeat the run, alternating between "
                "a right-hand and a left-hand loop.\n\n"
                "The angle of the waggle run relative to vertical indicates the "
                "direction of the food relative to the sun: a run straight upward "
                "means fly toward the sun, a run straight downward means fly "
                "directly away from it, and a run angled 60 degrees to the right of "
                "vertical means fly 60 degrees to the right of the sun. The "
                "duration of the waggle run encodes distance, with each second of "
                "waggling corresponding very roughly to a kilometre of flight. "
                "Because the sun moves across the sky, dancers adjust the angle of "
                "their runs over the course of the day.",
            ),
            (
                "Swarming and Winter Survival",
                "Colonies reproduce by swarming. In spring, when a colony becomes "
                "crowded, the workers rear new queens, and before the first one "
                "emerges the old queen leaves with roughly half or more of the "
                "workers. The swarm hangs in a cluster on a branch while several "
                "hundred scout bees inspect potential homes, such as hollow trees, "
                "and advertise good sites with waggle dances. The biologist Thomas "
                "Seeley showed that the scouts reach a collective decision through "
                "a kind of democratic debate: support for the best site grows as "
                "more scouts visit it and dance for it, and when a quorum of scouts "
                "gathers at one site, the swarm lifts off and flies there. Back in "
                "the original hive, the first new queen to emerge typically kills "
                "her rivals and takes over.\n\n"
                "In temperate climates honeybees do not hibernate. As temperatures "
                "fall, they form a tight winter cluster around the queen and shiver "
                "their flight muscles to produce heat, keeping the core of the "
                "cluster at around 20 to 35 degrees Celsius while an insulating "
                "outer shell of bees stays cooler. The cluster moves slowly across "
                "the comb, consuming stored honey, and a colony in a cold climate "
                "may need 20 kilograms of honey or more to survive the winter.",
            ),
            (
                "Threats to Honeybees",
                "Honeybees face a combination of pressures. The most serious is the "
                "parasitic mite Varroa destructor, which jumped from the Asian "
                "honeybee, Apis cerana, to Apis mellifera in the twentieth century "
                "and has spread almost worldwide. The mites feed on the fat body "
                "tissue of developing and adult bees and transmit viruses, "
                "especially deformed wing virus, which cripples emerging bees. "
                "Without treatment, most colonies infested with varroa die within a "
                "few years. Pesticides, including neonicotinoid insecticides that "
                "can impair the navigation and foraging of bees at sublethal doses, "
                "poor nutrition in landscapes dominated by single crops, and "
                "diseases such as American foulbrood add to the stress. In 2006 "
                "beekeepers in the United States began reporting sudden, "
                "unexplained losses of adult workers, a syndrome named colony "
                "collapse disorder.\n\n"
                "These losses matter because honeybees are the most important "
                "managed pollinators of crops. Almonds, apples, blueberries, melons "
                "and many other fruits, nuts and vegetables depend heavily on "
                "insect pollination, and every spring more than a million honeybee "
                "colonies are trucked into the almond orchards of California. "
                "Protecting honeybees, along with the thousands of species of wild "
                "bees that also pollinate crops and wildflowers, is therefore "
                "important for both agriculture and biodiversity.",
            ),
        ],
    ),
}
