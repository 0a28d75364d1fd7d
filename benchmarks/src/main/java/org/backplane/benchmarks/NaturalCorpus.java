package org.backplane.benchmarks;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;

/**
 * English texts of the lengths people write, for the natural-length benchmark: {@value #SIZE} distinct
 * sentences of 5 to 60 words (about 20 on average), each about one everyday subject (kitchen, travel,
 * weather, office, software, health, sport, school, money, gardens, the city, science). A sentence is
 * one to six clauses (who did what, sometimes where or when) joined as people join them, or a short
 * line (a question, a request) that may open a longer text. Built from a fixed seed with
 * {@link Random}, whose sequence the JDK specifies, so every run and every machine measures the same
 * texts.
 */
final class NaturalCorpus {
    static final int SIZE = 640;
    /** The benchmark's issue number: any fixed seed would do. */
    private static final long SEED = 21;

    private static final int MIN_WORDS = 5;
    private static final int MAX_WORDS = 60;
    /** Clauses per sentence: almost half the sentences are a single clause, three in a hundred have six. */
    private static final int[] CLAUSE_WEIGHTS = {0, 46, 30, 12, 6, 3, 3};

    private static final List<String> JOINS = List.of(
            ", and",
            ", but",
            " because",
            " while",
            ", so",
            " after",
            " before",
            " although",
            " until",
            " even though",
            " as soon as",
            ", which meant that",
            "; meanwhile,",
            "; as a result,",
            " and then");
    private static final List<String> OPENINGS =
            List.of("When", "Although", "Because", "After", "Before", "While", "As soon as", "Even though", "Once");

    /**
     * One subject's words: who (people or things), what they did (past tense, with its object), where
     * or when, and lines that stand alone.
     */
    private record Subject(List<String> who, List<String> did, List<String> setting, List<String> lines) {}

    private static final List<Subject> SUBJECTS = List.of(
            new Subject(
                    List.of(
                            "my grandmother",
                            "the head chef",
                            "the new cook",
                            "our neighbour",
                            "the baker on the corner",
                            "my brother",
                            "the catering team",
                            "Maria"),
                    List.of(
                            "burned the first batch of bread",
                            "added too much salt to the soup",
                            "forgot to preheat the oven",
                            "cut the onions into thin rings",
                            "served the pasta with fresh basil",
                            "cleaned the kitchen after dinner",
                            "ran out of eggs halfway through the recipe",
                            "tasted the sauce and asked for more pepper",
                            "made a lemon cake for the party",
                            "left the rice on the stove for too long",
                            "bought fresh fish at the market",
                            "wrote the recipe on the back of an envelope",
                            "roasted the vegetables with garlic and olive oil",
                            "kneaded the dough for ten minutes"),
                    List.of(
                            "on Sunday morning",
                            "before the guests arrived",
                            "in the small kitchen downstairs",
                            "for the third time this week",
                            "while the radio was playing",
                            "without checking the recipe",
                            "late last night",
                            "just before noon"),
                    List.of(
                            "Could you pass me the salt, please?",
                            "Dinner is ready.",
                            "Don't open the oven door yet.",
                            "Who left the milk out?",
                            "The soup needs more garlic.",
                            "Let the bread cool before you slice it.")),
            new Subject(
                    List.of(
                            "the tour guide",
                            "a family from Lisbon",
                            "the hotel receptionist",
                            "my colleague",
                            "the bus driver",
                            "two students from Canada",
                            "my sister",
                            "Tom and Lisa"),
                    List.of(
                            "booked a room near the station",
                            "missed the last train home",
                            "lost a passport at the airport",
                            "asked for directions to the old town",
                            "changed money at the border",
                            "waited two hours for a delayed flight",
                            "found a cheap hostel by the harbour",
                            "took hundreds of photos of the cathedral",
                            "rented a small car for the weekend",
                            "forgot the charger in the hotel room",
                            "packed everything into one small suitcase",
                            "bought tickets for the night bus",
                            "recommended a quiet beach south of the city"),
                    List.of(
                            "in the middle of August",
                            "after a long delay",
                            "on the way back from Rome",
                            "during the storm",
                            "early in the morning",
                            "without speaking a word of the language",
                            "at the end of the trip",
                            "two days before the holiday"),
                    List.of(
                            "Where is the nearest train station?",
                            "Is breakfast included in the price?",
                            "The flight was delayed by two hours.",
                            "Please keep your boarding pass with you.",
                            "How long does the ferry take?",
                            "We arrived just in time.")),
            new Subject(
                    List.of(
                            "the storm",
                            "heavy rain",
                            "a cold wind from the east",
                            "the morning fog",
                            "the heatwave",
                            "thick snow",
                            "the thunderstorm",
                            "a week of frost"),
                    List.of(
                            "closed several roads in the north",
                            "flooded the basement of the old library",
                            "delayed every flight out of the city",
                            "knocked down two trees in the park",
                            "kept most people indoors",
                            "ruined the outdoor concert",
                            "caught the farmers by surprise",
                            "made the motorway dangerous",
                            "cancelled the football match",
                            "brought the temperature down by ten degrees",
                            "cut the power to hundreds of homes",
                            "turned the fields white"),
                    List.of(
                            "on Tuesday night",
                            "for the second year in a row",
                            "across the whole region",
                            "shortly after midnight",
                            "along the coast",
                            "despite the warnings",
                            "earlier than expected",
                            "in the valley"),
                    List.of(
                            "It is raining again.",
                            "Bring an umbrella, showers are expected later.",
                            "Will it snow this weekend?",
                            "The sky cleared in the afternoon.",
                            "What a beautiful morning!",
                            "The wind has finally dropped.")),
            new Subject(
                    List.of(
                            "the project manager",
                            "our new intern",
                            "the finance team",
                            "my manager",
                            "the head of sales",
                            "a consultant from the main office",
                            "the whole department",
                            "Mr Okafor"),
                    List.of(
                            "postponed the meeting until next week",
                            "approved the budget for the next quarter",
                            "sent the report to the wrong client",
                            "asked everyone to update their timesheets",
                            "moved the deadline forward by two days",
                            "presented the results to the directors",
                            "hired three new engineers",
                            "cancelled the team lunch",
                            "complained about the new office layout",
                            "forgot to book the conference room",
                            "signed the contract with the supplier",
                            "reviewed every invoice from last year"),
                    List.of(
                            "on Friday afternoon",
                            "without telling anyone",
                            "after a long discussion",
                            "at the last minute",
                            "during the weekly call",
                            "for the second time this month",
                            "before the holidays",
                            "in front of the whole team"),
                    List.of(
                            "Can we move the call to three o'clock?",
                            "The printer is out of paper again.",
                            "Please send me the slides before the meeting.",
                            "Who is taking notes today?",
                            "The meeting ran over by half an hour.",
                            "Let's discuss this tomorrow.")),
            new Subject(
                    List.of(
                            "the on-call engineer",
                            "a developer on the payments team",
                            "the security team",
                            "our database administrator",
                            "the release manager",
                            "one of the testers",
                            "the new hire",
                            "the support team"),
                    List.of(
                            "restarted the server after the update",
                            "found a memory leak in the cache",
                            "rolled back the latest release",
                            "fixed the bug in the login page",
                            "noticed that the database connection had timed out",
                            "merged the pull request without a review",
                            "deleted the wrong branch",
                            "rewrote the import script in Python",
                            "added a test for the failing case",
                            "upgraded the libraries to the latest version",
                            "traced the error to a missing configuration file",
                            "turned off the nightly backups by mistake"),
                    List.of(
                            "in the middle of the night",
                            "two hours before the release",
                            "on the production cluster",
                            "after the alarm went off",
                            "during the code review",
                            "on the first day of the sprint",
                            "while most users were asleep",
                            "without running the tests"),
                    List.of(
                            "The server returned a 500 error.",
                            "Did you clear the cache?",
                            "It works on my machine.",
                            "Please restart the service and try again.",
                            "The build is green again.",
                            "Which version are you running?")),
            new Subject(
                    List.of(
                            "the doctor",
                            "the head nurse",
                            "a patient in the next room",
                            "my grandfather",
                            "the pharmacist",
                            "the physiotherapist",
                            "the young surgeon",
                            "Dr Chen"),
                    List.of(
                            "checked the blood pressure readings",
                            "prescribed a course of antibiotics",
                            "recommended more rest and less coffee",
                            "changed the dressing on the wound",
                            "asked about allergies to any medicine",
                            "explained the results of the scan",
                            "moved the appointment to Thursday",
                            "complained of a headache and a sore throat",
                            "started a new exercise programme",
                            "stayed in hospital for three nights",
                            "measured the temperature every hour",
                            "wrote a note for the school"),
                    List.of(
                            "after the morning rounds",
                            "at the small clinic in town",
                            "before the operation",
                            "for the first time in years",
                            "late in the evening",
                            "on the advice of a specialist",
                            "during the follow-up visit",
                            "as a precaution"),
                    List.of(
                            "How are you feeling today?",
                            "Take two tablets after each meal.",
                            "The clinic opens at eight.",
                            "Drink plenty of water.",
                            "Is the pharmacy still open?",
                            "She is recovering well.")),
            new Subject(
                    List.of(
                            "the striker",
                            "our goalkeeper",
                            "the coach",
                            "the home team",
                            "the young tennis player",
                            "the captain",
                            "a runner from Kenya",
                            "the referee"),
                    List.of(
                            "scored the winning goal in extra time",
                            "missed a penalty in the first half",
                            "broke the national record",
                            "changed the tactics at half time",
                            "lost the final after a long rally",
                            "trained every morning before work",
                            "thanked the fans after the match",
                            "sent off two players",
                            "won the race by less than a second",
                            "injured an ankle during practice",
                            "signed a new contract with the club",
                            "complained about the state of the pitch"),
                    List.of(
                            "in front of a full stadium",
                            "on a wet Saturday afternoon",
                            "for the first time this season",
                            "despite the injury",
                            "in the last minute",
                            "at the Olympic trials",
                            "after months of preparation",
                            "away from home"),
                    List.of(
                            "What a match!",
                            "The game ended in a draw.",
                            "Who won the race?",
                            "Tickets for the final sold out in minutes.",
                            "Keep your eye on the ball.",
                            "The season starts next week.")),
            new Subject(
                    List.of(
                            "the maths teacher",
                            "a student in the back row",
                            "the head teacher",
                            "my daughter",
                            "the history class",
                            "the exam board",
                            "one of the parents",
                            "Ms Rivera"),
                    List.of(
                            "handed out the test results",
                            "forgot to bring the homework",
                            "explained fractions with a bag of apples",
                            "asked for more time to finish the essay",
                            "organised a trip to the science museum",
                            "read the first chapter aloud",
                            "changed the date of the exam",
                            "found a rare book in the archive",
                            "won a prize for the best project",
                            "complained about the amount of homework",
                            "learned the poem by heart",
                            "painted a map of the world on the wall"),
                    List.of(
                            "on the last day of term",
                            "during the lunch break",
                            "in front of the whole class",
                            "after school",
                            "at the parents' evening",
                            "for the first time",
                            "before the summer holidays",
                            "in the library"),
                    List.of(
                            "Open your books at page forty.",
                            "Has anyone seen my pencil case?",
                            "The exam starts at nine sharp.",
                            "Please hand in your essays by Friday.",
                            "What is the capital of Australia?",
                            "Class is dismissed.")),
            new Subject(
                    List.of(
                            "the central bank",
                            "most investors",
                            "the small bakery on our street",
                            "a large car maker",
                            "the government",
                            "my uncle",
                            "the stock market",
                            "an analyst at the bank"),
                    List.of(
                            "raised interest rates again",
                            "sold most of the shares",
                            "reported a loss for the third year",
                            "cut prices to attract customers",
                            "borrowed money to open a second shop",
                            "warned that inflation would stay high",
                            "fell sharply after the announcement",
                            "paid off the mortgage early",
                            "invested in renewable energy",
                            "closed two factories in the south",
                            "reported record profits",
                            "froze the salaries of all staff"),
                    List.of(
                            "last quarter",
                            "in response to rising costs",
                            "despite strong sales",
                            "on Wednesday",
                            "for the first time since 2008",
                            "after weeks of speculation",
                            "at the end of the financial year",
                            "without much warning"),
                    List.of(
                            "Shares dropped as investors worried about rates.",
                            "How much does the loan cost?",
                            "Prices went up again this month.",
                            "Keep the receipt.",
                            "The bank closes at four on Fridays.",
                            "Do they take cards here?")),
            new Subject(
                    List.of(
                            "my neighbour",
                            "the old gardener",
                            "a group of volunteers",
                            "the park ranger",
                            "my mother",
                            "the farmer",
                            "a local scientist",
                            "the children"),
                    List.of(
                            "planted tomatoes along the fence",
                            "spotted a fox near the river",
                            "cut back the roses",
                            "counted the birds in the wetland",
                            "watered the vegetables twice a day",
                            "built a small pond for the frogs",
                            "picked apples from the old tree",
                            "cleared the path after the storm",
                            "found mushrooms under the oak trees",
                            "collected seeds for next spring",
                            "noticed that the bees had come back",
                            "put up nesting boxes in the woods"),
                    List.of(
                            "at dawn",
                            "in early spring",
                            "behind the house",
                            "along the riverbank",
                            "after the first frost",
                            "every weekend",
                            "in the community garden",
                            "during the dry summer"),
                    List.of(
                            "The roses are in bloom.",
                            "Don't step on the seedlings.",
                            "Have you seen the heron by the lake?",
                            "Plants need sunlight and water to grow.",
                            "The leaves are turning yellow.",
                            "Close the gate behind you.")),
            new Subject(
                    List.of(
                            "the city council",
                            "a cyclist",
                            "the taxi driver",
                            "the residents of our street",
                            "the mayor",
                            "a tourist",
                            "the police",
                            "the shop owner"),
                    List.of(
                            "closed the bridge for repairs",
                            "opened a new cycle lane",
                            "complained about the noise from the building site",
                            "stopped the traffic at the crossing",
                            "painted the front of the shop",
                            "asked the way to the museum",
                            "raised the price of parking",
                            "planted trees along the main road",
                            "found a wallet on the bus",
                            "held a meeting about the new tram line",
                            "removed the old benches from the square",
                            "delivered parcels all over town"),
                    List.of(
                            "on a busy Monday morning",
                            "near the central station",
                            "for the whole summer",
                            "in the rush hour",
                            "after years of complaints",
                            "outside the town hall",
                            "late at night",
                            "despite the protests"),
                    List.of(
                            "The museum opens at ten on Sundays.",
                            "Which bus goes to the airport?",
                            "Mind the gap.",
                            "The traffic was terrible this morning.",
                            "Is this seat taken?",
                            "Turn left at the next lights.")),
            new Subject(
                    List.of(
                            "a team of astronomers",
                            "the researchers",
                            "a young physicist",
                            "the laboratory",
                            "an international group of scientists",
                            "the space agency",
                            "a chemist in Oslo",
                            "the engineers"),
                    List.of(
                            "discovered a new planet around a nearby star",
                            "published the results in a leading journal",
                            "measured the temperature of the ocean floor",
                            "launched a satellite to study the climate",
                            "built a faster quantum computer",
                            "tested a new vaccine on volunteers",
                            "found traces of water in the samples",
                            "repeated the experiment a hundred times",
                            "mapped the genes of an ancient plant",
                            "recorded the sound of a distant earthquake",
                            "developed a cheaper battery",
                            "shared the data with other universities"),
                    List.of(
                            "last year",
                            "after a decade of work",
                            "with a telescope in Chile",
                            "for the first time",
                            "to the surprise of many experts",
                            "in a small lab in the basement",
                            "using data from old satellites",
                            "earlier this month"),
                    List.of(
                            "Photosynthesis turns light into chemical energy.",
                            "Quantum computers use qubits.",
                            "Water boils at a lower temperature on a mountain.",
                            "How far away is the moon?",
                            "The results were surprising.",
                            "Light travels faster than sound.")));

    private NaturalCorpus() {}

    /** The {@value #SIZE} texts, in the order they were made (lengths mixed). */
    static List<String> sentences() {
        Random random = new Random(SEED);
        Set<String> out = new LinkedHashSet<>();
        while (out.size() < SIZE) {
            String s = sentence(random);
            int words = words(s);
            if (words >= MIN_WORDS && words <= MAX_WORDS) {
                out.add(s);
            }
        }
        return List.copyOf(out);
    }

    /** Words as people count them: runs of characters between spaces. */
    static int words(String text) {
        String t = text.strip();
        return t.isEmpty() ? 0 : t.split("\\s+").length;
    }

    private static String sentence(Random random) {
        Subject subject = SUBJECTS.get(random.nextInt(SUBJECTS.size()));
        int clauses = weighted(random, CLAUSE_WEIGHTS);
        String line = "";
        if (random.nextInt(5) == 0) { // a short line alone, or opening the rest
            line = pick(random, subject.lines());
            clauses--;
            if (clauses == 0) {
                return line;
            }
        }
        Set<String> used = new HashSet<>();
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < clauses; i++) {
            parts.add(clause(random, subject, used));
        }
        StringBuilder text = new StringBuilder();
        int next = 0;
        if (parts.size() > 1 && random.nextInt(4) == 0) {
            text.append(pick(random, OPENINGS))
                    .append(' ')
                    .append(parts.get(0))
                    .append(", ")
                    .append(parts.get(1));
            next = 2;
        } else {
            text.append(parts.get(0));
            next = 1;
        }
        for (int i = next; i < parts.size(); i++) {
            text.append(pick(random, JOINS)).append(' ').append(parts.get(i));
        }
        String body = capitalise(text.append('.').toString());
        return line.isEmpty() ? body : line + " " + body;
    }

    /** Who did what, and where or when two times in five; no one and no deed twice in one sentence. */
    private static String clause(Random random, Subject subject, Set<String> used) {
        String who = unused(random, subject.who(), used);
        String did = unused(random, subject.did(), used);
        return random.nextInt(5) < 2 ? who + " " + did + " " + pick(random, subject.setting()) : who + " " + did;
    }

    private static String unused(Random random, List<String> from, Set<String> used) {
        String s;
        do {
            s = pick(random, from);
        } while (!used.add(s));
        return s;
    }

    private static int weighted(Random random, int[] weights) {
        int total = 0;
        for (int w : weights) {
            total += w;
        }
        int r = random.nextInt(total);
        for (int i = 0; i < weights.length; i++) {
            r -= weights[i];
            if (r < 0) {
                return i;
            }
        }
        throw new AssertionError("unreachable: the weights sum to " + total);
    }

    private static String pick(Random random, List<String> from) {
        return from.get(random.nextInt(from.size()));
    }

    private static String capitalise(String s) {
        return s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1);
    }
}
