/**
 * Name pools for generated sample data. Given names and surnames are common ones, combined at random:
 * any resulting full name is invented and does not describe a real person.
 *
 * A form is `"Latin[/variant…]"` optionally paired with the same name in its native script; variants
 * are other customary transliterations ("Mohamed/Mohammed/Muhammad"), the first being the usual one.
 */

/** `[latin, native?]`; `latin` may list transliteration variants separated by "/". */
export type NameForm = readonly [latin: string, native?: string];

export interface NamePool {
  readonly culture: string;
  /** States whose nationals typically carry these names (used for foreign nationalities). */
  readonly countries: readonly string[];
  readonly male: readonly NameForm[];
  readonly female: readonly NameForm[];
  readonly surnames: readonly NameForm[];
  /** Chinese names are written surname first. */
  readonly surnameFirst?: boolean;
  /** Spanish names carry two surnames. */
  readonly surnameCount?: number;
  /** Joins the parts of the native-script name ("" for Han). */
  readonly nativeSeparator?: string;
  /** Feminine form of a surname, applied to Latin and native spellings alike (-ski → -ska, -ов → -ова). */
  readonly feminine?: (surname: string) => string;
}

function replaceEnding(word: string, rules: readonly (readonly [RegExp, string])[]): string {
  for (const [pattern, replacement] of rules) {
    if (pattern.test(word)) return word.replace(pattern, replacement);
  }
  return word;
}

const french: NamePool = {
  culture: "french",
  countries: ["FRA", "BEL", "CHE", "LUX"],
  male: [
    ["Jean"], ["Pierre"], ["Michel"], ["Philippe"], ["Alain"], ["Nicolas"], ["Christophe"], ["Laurent"], ["Sébastien"],
    ["Julien"], ["Thomas"], ["Antoine"], ["Mathieu"], ["François"], ["Olivier"], ["Stéphane"], ["Jérôme"], ["Frédéric"],
    ["Éric"], ["Benoît"], ["Guillaume"], ["Rémi"], ["Loïc"], ["Hervé"], ["Jean-Pierre"], ["Jean-Luc"],
  ],
  female: [
    ["Marie"], ["Nathalie"], ["Isabelle"], ["Sylvie"], ["Catherine"], ["Françoise"], ["Sandrine"], ["Céline"], ["Sophie"],
    ["Émilie"], ["Aurélie"], ["Camille"], ["Chloé"], ["Léa"], ["Manon"], ["Élodie"], ["Hélène"], ["Valérie"], ["Anaïs"],
    ["Margaux"], ["Marie-Claire"],
  ],
  surnames: [
    ["Martin"], ["Bernard"], ["Dubois"], ["Robert"], ["Richard"], ["Petit"], ["Durand"], ["Leroy"], ["Moreau"], ["Simon"],
    ["Lefèvre"], ["Michel"], ["Bertrand"], ["Roux"], ["Fournier"], ["Morel"], ["Girard"], ["Mercier"], ["Dupont"],
    ["Lambert"], ["Bonnet"], ["Legrand"], ["Garnier"], ["Faure"], ["Rousseau"], ["Guérin"], ["Perrin"], ["Clément"],
    ["Gauthier"], ["Chevalier"], ["Ménard"], ["Prévost"], ["Rivière"], ["Carré"], ["Le Gall"], ["Da Silva"],
  ],
};

const german: NamePool = {
  culture: "german",
  countries: ["DEU", "AUT", "CHE", "LIE"],
  male: [
    ["Hans"], ["Peter"], ["Klaus"], ["Wolfgang"], ["Jürgen"], ["Michael"], ["Thomas"], ["Andreas"], ["Stefan"], ["Frank"],
    ["Uwe"], ["Jörg"], ["Matthias"], ["Dieter"], ["Günter"], ["Horst"], ["Lukas"], ["Jonas"], ["Maximilian"], ["Felix"],
    ["Tobias"], ["Sebastian"], ["Florian"], ["Björn"], ["Karl-Heinz"],
  ],
  female: [
    ["Ursula"], ["Monika"], ["Petra"], ["Sabine"], ["Andrea"], ["Birgit"], ["Jutta"], ["Gabriele"], ["Renate"], ["Karin"],
    ["Anja"], ["Katrin"], ["Julia"], ["Lena"], ["Hannah"], ["Jana"], ["Käthe"], ["Anneliese"], ["Brigitte"], ["Heike"],
  ],
  surnames: [
    ["Müller"], ["Schmidt"], ["Schneider"], ["Fischer"], ["Weber"], ["Meyer"], ["Wagner"], ["Becker"], ["Schulz"],
    ["Hoffmann"], ["Schäfer"], ["Koch"], ["Bauer"], ["Richter"], ["Klein"], ["Wolf"], ["Schröder"], ["Neumann"],
    ["Schwarz"], ["Zimmermann"], ["Braun"], ["Krüger"], ["Hartmann"], ["Lange"], ["Werner"], ["Krause"], ["Lehmann"],
    ["Köhler"], ["Günther"], ["Jäger"], ["Groß"], ["Weiß"], ["Böhm"], ["Vogel"], ["Fuchs"], ["Möller"], ["Kühn"], ["Strauß"],
  ],
};

const spanish: NamePool = {
  culture: "spanish",
  countries: ["ESP", "MEX", "ARG", "COL", "PER", "VEN", "CHL"],
  surnameCount: 2,
  male: [
    ["José"], ["Antonio"], ["Manuel"], ["Francisco"], ["Juan"], ["David"], ["Javier"], ["Daniel"], ["Carlos"], ["Jesús"],
    ["Alejandro"], ["Miguel"], ["Rafael"], ["Pablo"], ["Sergio"], ["Fernando"], ["Jorge"], ["Luis"], ["Alberto"],
    ["Álvaro"], ["Ángel"], ["Raúl"], ["Rubén"], ["Adrián"], ["Íñigo"],
  ],
  female: [
    ["María"], ["Carmen"], ["Ana"], ["Isabel"], ["Dolores"], ["Pilar"], ["Teresa"], ["Rosa"], ["Cristina"], ["Lucía"],
    ["Laura"], ["Marta"], ["Elena"], ["Paula"], ["Raquel"], ["Nuria"], ["Beatriz"], ["Inés"], ["Mónica"], ["Begoña"],
    ["Rocío"], ["María José"],
  ],
  surnames: [
    ["García"], ["Rodríguez"], ["González"], ["Fernández"], ["López"], ["Martínez"], ["Sánchez"], ["Pérez"], ["Gómez"],
    ["Martín"], ["Jiménez"], ["Ruiz"], ["Hernández"], ["Díaz"], ["Moreno"], ["Muñoz"], ["Álvarez"], ["Romero"], ["Alonso"],
    ["Gutiérrez"], ["Navarro"], ["Torres"], ["Domínguez"], ["Vázquez"], ["Ramos"], ["Serrano"], ["Blanco"], ["Molina"],
    ["Ortega"], ["Delgado"], ["Castro"], ["Núñez"], ["Iglesias"], ["Medina"], ["Cortés"], ["Ibáñez"], ["Peña"], ["Sáez"],
  ],
};

const italian: NamePool = {
  culture: "italian",
  countries: ["ITA", "SMR", "CHE"],
  male: [
    ["Giuseppe"], ["Giovanni"], ["Antonio"], ["Mario"], ["Luigi"], ["Francesco"], ["Angelo"], ["Vincenzo"], ["Pietro"],
    ["Salvatore"], ["Carlo"], ["Franco"], ["Domenico"], ["Bruno"], ["Paolo"], ["Michele"], ["Giorgio"], ["Marco"],
    ["Alessandro"], ["Andrea"], ["Luca"], ["Matteo"], ["Lorenzo"], ["Niccolò"],
  ],
  female: [
    ["Maria"], ["Anna"], ["Giuseppina"], ["Rosa"], ["Angela"], ["Giovanna"], ["Teresa"], ["Lucia"], ["Carmela"],
    ["Caterina"], ["Francesca"], ["Chiara"], ["Giulia"], ["Sofia"], ["Alessia"], ["Martina"], ["Federica"], ["Elisa"],
    ["Valentina"], ["Silvia"],
  ],
  surnames: [
    ["Rossi"], ["Russo"], ["Ferrari"], ["Esposito"], ["Bianchi"], ["Romano"], ["Colombo"], ["Ricci"], ["Marino"], ["Greco"],
    ["Bruno"], ["Gallo"], ["Conti"], ["De Luca"], ["Mancini"], ["Costa"], ["Giordano"], ["Rizzo"], ["Lombardi"],
    ["Moretti"], ["Barbieri"], ["Fontana"], ["Santoro"], ["Caruso"], ["Ferrara"], ["Leone"], ["Longo"], ["Gentile"],
    ["Vitale"], ["Coppola"], ["De Santis"], ["D'Angelo"], ["Marchetti"], ["Parisi"], ["Sanna"], ["Palumbo"],
  ],
};

const polish: NamePool = {
  culture: "polish",
  countries: ["POL"],
  feminine: (s) => replaceEnding(s, [[/ski$/, "ska"], [/cki$/, "cka"], [/dzki$/, "dzka"]]),
  male: [
    ["Piotr"], ["Krzysztof"], ["Andrzej"], ["Tomasz"], ["Paweł"], ["Jan"], ["Michał"], ["Marcin"], ["Stanisław"],
    ["Jakub"], ["Adam"], ["Marek"], ["Łukasz"], ["Grzegorz"], ["Mateusz"], ["Wojciech"], ["Mariusz"], ["Dariusz"],
    ["Zbigniew"], ["Jerzy"], ["Maciej"], ["Kamil"], ["Rafał"], ["Józef"],
  ],
  female: [
    ["Anna"], ["Maria"], ["Katarzyna"], ["Małgorzata"], ["Agnieszka"], ["Barbara"], ["Ewa"], ["Krystyna"], ["Elżbieta"],
    ["Magdalena"], ["Joanna"], ["Zofia"], ["Monika"], ["Danuta"], ["Natalia"], ["Karolina"], ["Beata"], ["Dorota"],
    ["Halina"], ["Jadwiga"], ["Aleksandra"], ["Wiesława"],
  ],
  surnames: [
    ["Nowak"], ["Kowalski"], ["Wiśniewski"], ["Wójcik"], ["Kowalczyk"], ["Kamiński"], ["Lewandowski"], ["Zieliński"],
    ["Szymański"], ["Woźniak"], ["Dąbrowski"], ["Kozłowski"], ["Jankowski"], ["Mazur"], ["Kwiatkowski"], ["Krawczyk"],
    ["Kaczmarek"], ["Piotrowski"], ["Grabowski"], ["Zając"], ["Pawłowski"], ["Michalski"], ["Król"], ["Wieczorek"],
    ["Jabłoński"], ["Wróbel"], ["Majewski"], ["Olszewski"], ["Stępień"], ["Malinowski"], ["Dudek"], ["Nowicki"],
    ["Górski"], ["Witkowski"], ["Sikora"], ["Baran"],
  ],
};

const turkish: NamePool = {
  culture: "turkish",
  countries: ["TUR", "CYP", "AZE"],
  male: [
    ["Mehmet"], ["Mustafa"], ["Ahmet"], ["Ali"], ["Hüseyin"], ["Hasan"], ["İbrahim"], ["İsmail"], ["Osman"], ["Yusuf"],
    ["Murat"], ["Ömer"], ["Ramazan"], ["Halil"], ["Süleyman"], ["Abdullah"], ["Mahmut"], ["Recep"], ["Emre"], ["Burak"],
    ["Yasin"], ["Serkan"], ["Oğuz"], ["Çağlar"],
  ],
  female: [
    ["Fatma"], ["Ayşe"], ["Emine"], ["Hatice"], ["Zeynep"], ["Elif"], ["Meryem"], ["Şerife"], ["Zehra"], ["Sultan"],
    ["Hanife"], ["Merve"], ["Özlem"], ["Yasemin"], ["Gül"], ["Esra"], ["Büşra"], ["Derya"], ["Gülşen"], ["Songül"],
    ["Dilek"], ["Şule"],
  ],
  surnames: [
    ["Yılmaz"], ["Kaya"], ["Demir"], ["Şahin"], ["Çelik"], ["Yıldız"], ["Yıldırım"], ["Öztürk"], ["Aydın"], ["Özdemir"],
    ["Arslan"], ["Doğan"], ["Kılıç"], ["Aslan"], ["Çetin"], ["Kara"], ["Koç"], ["Kurt"], ["Özkan"], ["Şimşek"], ["Polat"],
    ["Özcan"], ["Korkmaz"], ["Çakır"], ["Erdoğan"], ["Yavuz"], ["Acar"], ["Aktaş"], ["Güler"], ["Yalçın"], ["Güneş"],
    ["Bozkurt"], ["Bulut"], ["Keskin"], ["Ünal"], ["Işık"], ["Kaplan"], ["Avcı"],
  ],
};

const english: NamePool = {
  culture: "english",
  countries: ["GBR", "IRL", "USA", "CAN", "AUS", "NZL"],
  male: [
    ["James"], ["John"], ["Robert"], ["Michael"], ["William"], ["David"], ["Richard"], ["Joseph"], ["Thomas"],
    ["Christopher"], ["Daniel"], ["Matthew"], ["Andrew"], ["Mark"], ["Paul"], ["Steven"], ["Kevin"], ["Brian"],
    ["George"], ["Liam"], ["Noah"], ["Oliver"], ["Harry"], ["Connor"],
  ],
  female: [
    ["Mary"], ["Patricia"], ["Jennifer"], ["Linda"], ["Elizabeth"], ["Susan"], ["Jessica"], ["Sarah"], ["Karen"],
    ["Emily"], ["Emma"], ["Olivia"], ["Amelia"], ["Charlotte"], ["Hannah"], ["Megan"], ["Rachel"], ["Siobhan"],
    ["Lauren"], ["Chloe"],
  ],
  surnames: [
    ["Smith"], ["Johnson"], ["Williams"], ["Brown"], ["Jones"], ["Miller"], ["Davis"], ["Wilson"], ["Taylor"],
    ["Anderson"], ["Thomas"], ["Moore"], ["Jackson"], ["White"], ["Harris"], ["Clark"], ["Lewis"], ["Walker"], ["Hall"],
    ["Young"], ["Wright"], ["Evans"], ["Roberts"], ["O'Brien"], ["Murphy"], ["Kelly"], ["McCarthy"], ["Hughes"],
    ["Edwards"], ["Turner"],
  ],
};

const arabic: NamePool = {
  culture: "arabic",
  countries: ["MAR", "DZA", "TUN", "EGY", "SYR", "IRQ", "JOR", "LBN", "SAU", "LBY", "PSE", "YEM"],
  male: [
    ["Mohamed/Mohammed/Muhammad", "محمد"], ["Ahmed/Ahmad", "أحمد"], ["Ali", "علي"], ["Omar/Umar", "عمر"],
    ["Youssef/Yusuf/Yousef", "يوسف"], ["Ibrahim", "إبراهيم"], ["Khaled/Khalid", "خالد"], ["Hassan", "حسن"],
    ["Hussein/Hussain", "حسين"], ["Abdallah/Abdullah", "عبد الله"], ["Karim", "كريم"], ["Mustafa/Moustafa", "مصطفى"],
    ["Tarek/Tariq", "طارق"], ["Samir", "سمير"], ["Walid", "وليد"], ["Rachid/Rashid", "رشيد"], ["Nabil", "نبيل"],
    ["Hamza", "حمزة"], ["Bilal", "بلال"], ["Said/Saeed", "سعيد"], ["Mahmoud/Mahmud", "محمود"], ["Amine/Amin", "أمين"],
    ["Adel", "عادل"], ["Jamal", "جمال"], ["Fares", "فارس"],
  ],
  female: [
    ["Fatima/Fatma", "فاطمة"], ["Aicha/Aisha", "عائشة"], ["Khadija", "خديجة"], ["Maryam/Meriem", "مريم"],
    ["Zainab/Zeineb", "زينب"], ["Amina", "أمينة"], ["Nour/Noor", "نور"], ["Salma", "سلمى"], ["Layla/Leila", "ليلى"],
    ["Yasmine/Yasmin", "ياسمين"], ["Samira", "سميرة"], ["Hanane/Hanan", "حنان"], ["Rania", "رانيا"], ["Souad", "سعاد"],
    ["Nadia", "نادية"], ["Asma", "أسماء"], ["Hiba", "هبة"], ["Malak", "ملاك"], ["Imane/Iman", "إيمان"], ["Sara", "سارة"],
  ],
  surnames: [
    ["Benali/Ben Ali", "بن علي"], ["El Amrani", "العمراني"], ["Haddad", "حداد"], ["Mansour", "منصور"], ["Khalil", "خليل"],
    ["Saleh/Salah", "صالح"], ["Nasser", "ناصر"], ["Hamdan", "حمدان"], ["Abbas", "عباس"], ["Darwish", "درويش"],
    ["El Idrissi", "الإدريسي"], ["Bouzid", "بوزيد"], ["El Khoury/Khoury", "الخوري"], ["Azzam", "عزام"],
    ["Kassem/Qasim", "قاسم"], ["Farouk", "فاروق"], ["Hamdi", "حمدي"], ["Al Najjar/Najjar", "النجار"], ["Tahiri", "الطاهري"],
    ["Zidane", "زيدان"], ["Abdel Rahman/Abdelrahman", "عبد الرحمن"], ["Sabbagh", "الصباغ"], ["Jaber", "جابر"],
    ["Othman/Osman", "عثمان"], ["Yacoub/Yaqub", "يعقوب"], ["El Masri/Masri", "المصري"],
  ],
};

// Russian feminine surnames: -ov/-ev/-in take -a, -sky becomes -skaya (Latin and Cyrillic).
const russianFeminine = (s: string): string =>
  replaceEnding(s, [
    [/sky$/, "skaya"],
    [/(ov|ev|yov|in|yn)$/, "$1a"],
    [/ский$/, "ская"],
    [/(ов|ев|ёв|ин|ын)$/, "$1а"],
  ]);

const russian: NamePool = {
  culture: "russian",
  countries: ["RUS", "BLR", "KAZ", "KGZ", "MDA"],
  feminine: russianFeminine,
  male: [
    ["Aleksandr/Alexander", "Александр"], ["Sergei/Sergey", "Сергей"], ["Dmitri/Dmitry", "Дмитрий"],
    ["Andrei/Andrey", "Андрей"], ["Alexei/Aleksey", "Алексей"], ["Maxim/Maksim", "Максим"], ["Ivan", "Иван"],
    ["Mikhail", "Михаил"], ["Nikolai/Nikolay", "Николай"], ["Vladimir", "Владимир"], ["Yevgeny/Evgeny", "Евгений"],
    ["Pavel", "Павел"], ["Artyom/Artem", "Артём"], ["Oleg", "Олег"], ["Roman", "Роман"], ["Igor", "Игорь"],
    ["Viktor", "Виктор"], ["Yuri/Yury", "Юрий"], ["Denis", "Денис"], ["Konstantin", "Константин"],
  ],
  female: [
    ["Yelena/Elena", "Елена"], ["Olga", "Ольга"], ["Natalya/Natalia", "Наталья"], ["Tatyana/Tatiana", "Татьяна"],
    ["Irina", "Ирина"], ["Svetlana", "Светлана"], ["Anna", "Анна"], ["Maria/Mariya", "Мария"],
    ["Yekaterina/Ekaterina", "Екатерина"], ["Anastasia/Anastasiya", "Анастасия"], ["Yulia/Yuliya", "Юлия"],
    ["Lyudmila", "Людмила"], ["Galina", "Галина"], ["Darya/Daria", "Дарья"], ["Ksenia/Kseniya", "Ксения"],
    ["Alina", "Алина"], ["Marina", "Марина"], ["Polina", "Полина"],
  ],
  surnames: [
    ["Ivanov", "Иванов"], ["Smirnov", "Смирнов"], ["Kuznetsov", "Кузнецов"], ["Popov", "Попов"],
    ["Vasilyev/Vasiliev", "Васильев"], ["Petrov", "Петров"], ["Sokolov", "Соколов"], ["Mikhailov", "Михайлов"],
    ["Novikov", "Новиков"], ["Fyodorov/Fedorov", "Фёдоров"], ["Morozov", "Морозов"], ["Volkov", "Волков"],
    ["Lebedev", "Лебедев"], ["Semyonov/Semenov", "Семёнов"], ["Yegorov/Egorov", "Егоров"], ["Pavlov", "Павлов"],
    ["Kozlov", "Козлов"], ["Stepanov", "Степанов"], ["Orlov", "Орлов"], ["Makarov", "Макаров"], ["Nikitin", "Никитин"],
    ["Zakharov", "Захаров"], ["Zaitsev", "Зайцев"], ["Borisov", "Борисов"], ["Yakovlev", "Яковлев"], ["Romanov", "Романов"],
    ["Belov", "Белов"], ["Tarasov", "Тарасов"], ["Gusev", "Гусев"], ["Titov", "Титов"], ["Baranov", "Баранов"],
    ["Polyakov", "Поляков"], ["Vinogradov", "Виноградов"], ["Bogdanov", "Богданов"], ["Voronin", "Воронин"],
    ["Zhukovsky", "Жуковский"],
  ],
};

const ukrainian: NamePool = {
  culture: "ukrainian",
  countries: ["UKR"],
  feminine: (s) => replaceEnding(s, [[/skyi$/, "ska"], [/ський$/, "ська"]]),
  male: [
    ["Oleksandr", "Олександр"], ["Andriy/Andrii", "Андрій"], ["Serhiy/Serhii", "Сергій"], ["Volodymyr", "Володимир"],
    ["Oleh", "Олег"], ["Mykola", "Микола"], ["Vasyl", "Василь"], ["Yuriy/Yurii", "Юрій"], ["Ivan", "Іван"],
    ["Dmytro", "Дмитро"], ["Taras", "Тарас"], ["Bohdan", "Богдан"], ["Petro", "Петро"], ["Mykhailo", "Михайло"],
    ["Viktor", "Віктор"], ["Roman", "Роман"], ["Yaroslav", "Ярослав"], ["Ihor", "Ігор"],
  ],
  female: [
    ["Olena", "Олена"], ["Oksana", "Оксана"], ["Nataliia/Natalia", "Наталія"], ["Iryna", "Ірина"],
    ["Tetiana/Tetyana", "Тетяна"], ["Svitlana", "Світлана"], ["Halyna", "Галина"], ["Yuliia/Yulia", "Юлія"],
    ["Kateryna", "Катерина"], ["Mariia/Maria", "Марія"], ["Liudmyla", "Людмила"], ["Nadiia", "Надія"],
    ["Oleksandra", "Олександра"], ["Viktoriia", "Вікторія"], ["Anastasiia", "Анастасія"], ["Khrystyna", "Христина"],
    ["Sofiia", "Софія"],
  ],
  surnames: [
    ["Shevchenko", "Шевченко"], ["Kovalenko", "Коваленко"], ["Bondarenko", "Бондаренко"], ["Tkachenko", "Ткаченко"],
    ["Kravchenko", "Кравченко"], ["Boiko/Boyko", "Бойко"], ["Kovalchuk", "Ковальчук"], ["Oliinyk/Oliynyk", "Олійник"],
    ["Shevchuk", "Шевчук"], ["Polishchuk", "Поліщук"], ["Tkachuk", "Ткачук"], ["Savchenko", "Савченко"],
    ["Bondar", "Бондар"], ["Marchenko", "Марченко"], ["Rudenko", "Руденко"], ["Moroz", "Мороз"], ["Lysenko", "Лисенко"],
    ["Petrenko", "Петренко"], ["Klymenko", "Клименко"], ["Pavlenko", "Павленко"], ["Kravets", "Кравець"],
    ["Melnyk", "Мельник"], ["Hrytsenko", "Гриценко"], ["Kovalskyi", "Ковальський"], ["Zhuravskyi", "Журавський"],
    ["Ponomarenko", "Пономаренко"], ["Vasylenko", "Василенко"],
  ],
};

// Greek feminine surnames are genitive forms; the accent moves in -όπουλος → -οπούλου.
const greekFeminine = (s: string): string =>
  replaceEnding(s, [
    [/όπουλος$/, "οπούλου"],
    [/ος$/, "ου"],
    [/ης$/, "η"],
    [/ής$/, "ή"],
    [/άς$/, "ά"],
    [/ας$/, "α"],
    [/os$/, "ou"],
    [/is$/, "i"],
    [/as$/, "a"],
  ]);

const greek: NamePool = {
  culture: "greek",
  countries: ["GRC", "CYP"],
  feminine: greekFeminine,
  male: [
    ["Georgios/Giorgos", "Γεώργιος"], ["Dimitrios", "Δημήτριος"], ["Konstantinos", "Κωνσταντίνος"],
    ["Ioannis/Giannis", "Ιωάννης"], ["Nikolaos", "Νικόλαος"], ["Panagiotis", "Παναγιώτης"], ["Vasileios", "Βασίλειος"],
    ["Christos", "Χρήστος"], ["Athanasios", "Αθανάσιος"], ["Michail", "Μιχαήλ"], ["Evangelos", "Ευάγγελος"],
    ["Spyridon", "Σπυρίδων"], ["Antonios", "Αντώνιος"], ["Anastasios", "Αναστάσιος"], ["Theodoros", "Θεόδωρος"],
    ["Emmanouil", "Εμμανουήλ"],
  ],
  female: [
    ["Maria", "Μαρία"], ["Eleni", "Ελένη"], ["Aikaterini", "Αικατερίνη"], ["Vasiliki", "Βασιλική"], ["Sofia", "Σοφία"],
    ["Angeliki", "Αγγελική"], ["Georgia", "Γεωργία"], ["Dimitra", "Δήμητρα"], ["Konstantina", "Κωνσταντίνα"],
    ["Paraskevi", "Παρασκευή"], ["Christina", "Χριστίνα"], ["Evangelia", "Ευαγγελία"], ["Ioanna", "Ιωάννα"],
    ["Panagiota", "Παναγιώτα"], ["Anna", "Άννα"], ["Despoina", "Δέσποινα"],
  ],
  surnames: [
    ["Papadopoulos", "Παπαδόπουλος"], ["Papadakis", "Παπαδάκης"], ["Georgiou", "Γεωργίου"], ["Oikonomou", "Οικονόμου"],
    ["Papageorgiou", "Παπαγεωργίου"], ["Papanikolaou", "Παπανικολάου"], ["Vasileiou", "Βασιλείου"],
    ["Karagiannis", "Καραγιάννης"], ["Dimitriou", "Δημητρίου"], ["Ioannou", "Ιωάννου"], ["Pappas", "Παππάς"],
    ["Makris", "Μακρής"], ["Athanasiou", "Αθανασίου"], ["Christodoulou", "Χριστοδούλου"], ["Antoniou", "Αντωνίου"],
    ["Alexiou", "Αλεξίου"], ["Angelopoulos", "Αγγελόπουλος"], ["Triantafyllou", "Τριανταφύλλου"],
    ["Panagiotopoulos", "Παναγιωτόπουλος"], ["Kyriakou", "Κυριακού"], ["Stavropoulos", "Σταυρόπουλος"],
    ["Nikolaou", "Νικολάου"],
  ],
};

const chinese: NamePool = {
  culture: "chinese",
  countries: ["CHN", "SGP", "MYS"],
  surnameFirst: true,
  nativeSeparator: "",
  male: [
    ["Wei", "伟"], ["Qiang", "强"], ["Lei", "磊"], ["Jun", "军"], ["Yong", "勇"], ["Jie", "杰"], ["Tao", "涛"],
    ["Ming", "明"], ["Chao", "超"], ["Hao", "浩"], ["Jianguo", "建国"], ["Zhiwei", "志伟"], ["Haoran", "浩然"],
    ["Yuxuan", "宇轩"], ["Zihao", "子豪"], ["Junjie", "俊杰"], ["Wenbo", "文博"], ["Dawei", "大伟"],
  ],
  female: [
    ["Fang", "芳"], ["Na", "娜"], ["Min", "敏"], ["Jing", "静"], ["Li", "丽"], ["Yan", "艳"], ["Xiuying", "秀英"],
    ["Yumei", "玉梅"], ["Xiaohong", "小红"], ["Lihua", "丽华"], ["Ying", "颖"], ["Hui", "慧"], ["Xinyi", "欣怡"],
    ["Yutong", "雨桐"], ["Zihan", "子涵"], ["Ting", "婷"], ["Xue", "雪"],
  ],
  surnames: [
    ["Wang", "王"], ["Li", "李"], ["Zhang", "张"], ["Liu", "刘"], ["Chen", "陈"], ["Yang", "杨"], ["Huang", "黄"],
    ["Zhao", "赵"], ["Wu", "吴"], ["Zhou", "周"], ["Xu", "徐"], ["Sun", "孙"], ["Ma", "马"], ["Zhu", "朱"], ["Hu", "胡"],
    ["Guo", "郭"], ["He", "何"], ["Lin", "林"], ["Luo", "罗"], ["Gao", "高"], ["Zheng", "郑"], ["Liang", "梁"],
    ["Xie", "谢"], ["Song", "宋"], ["Tang", "唐"],
  ],
};

export const NAME_POOLS = {
  french,
  german,
  spanish,
  italian,
  polish,
  turkish,
  english,
  arabic,
  russian,
  ukrainian,
  greek,
  chinese,
} as const satisfies Record<string, NamePool>;

export type Culture = keyof typeof NAME_POOLS;

/** How often each culture appears among a country's records (relative weights). */
export type CultureMix = Partial<Record<Culture, number>>;

const ARAB_STATES = ["MAR", "DZA", "TUN", "EGY", "SYR", "IRQ", "JOR", "LBN", "SAU", "LBY", "PSE", "YEM", "ARE", "QAT", "KWT", "BHR", "OMN"];
const ENGLISH_SPEAKING = ["GBR", "IRL", "USA", "CAN", "AUS", "NZL"];
const SPANISH_SPEAKING = ["MEX", "ARG", "COL", "PER", "VEN", "CHL", "ECU", "BOL", "URY", "PRY", "CUB", "DOM", "GTM", "HND", "SLV", "NIC", "CRI", "PAN"];
const RUSSIAN_SPEAKING = ["RUS", "BLR", "KAZ", "KGZ", "MDA", "TJK", "UZB", "ARM", "GEO"];

const MIXES: Record<string, CultureMix> = {
  FRA: { french: 60, arabic: 14, spanish: 4, italian: 4, turkish: 4, chinese: 4, russian: 3, polish: 3, english: 2, german: 2 },
  DEU: { german: 60, turkish: 14, polish: 7, russian: 6, arabic: 5, greek: 3, italian: 3, ukrainian: 2 },
  ESP: { spanish: 70, arabic: 10, english: 5, french: 5, chinese: 5, italian: 5 },
  TUR: { turkish: 80, arabic: 12, russian: 4, german: 2, greek: 2 },
  UKR: { ukrainian: 72, russian: 20, polish: 4, turkish: 2, english: 2 },
  ITA: { italian: 70, arabic: 10, chinese: 6, ukrainian: 5, spanish: 4, french: 5 },
  POL: { polish: 78, ukrainian: 14, german: 4, russian: 4 },
  GRC: { greek: 75, arabic: 8, russian: 6, italian: 6, english: 5 },
  CYP: { greek: 75, turkish: 15, english: 5, russian: 5 },
  AUT: { german: 70, turkish: 10, polish: 5, italian: 5, arabic: 5, ukrainian: 5 },
  CHE: { german: 45, french: 25, italian: 20, turkish: 5, spanish: 5 },
  BEL: { french: 45, arabic: 15, turkish: 10, italian: 10, english: 10, polish: 10 },
  LUX: { french: 50, german: 30, italian: 10, english: 10 },
  CHN: { chinese: 95, english: 5 },
  SGP: { chinese: 75, english: 25 },
};
for (const code of ARAB_STATES) MIXES[code] = { arabic: 85, french: 10, english: 5 };
for (const code of ENGLISH_SPEAKING) MIXES[code] = { english: 70, arabic: 6, chinese: 6, polish: 6, italian: 6, spanish: 6 };
for (const code of SPANISH_SPEAKING) MIXES[code] = { spanish: 90, italian: 5, english: 5 };
for (const code of RUSSIAN_SPEAKING) MIXES[code] = { russian: 80, ukrainian: 10, turkish: 10 };

/** Every culture equally, for countries without a mix of their own. */
const DEFAULT_MIX: CultureMix = Object.fromEntries(Object.keys(NAME_POOLS).map((culture) => [culture, 1]));

export function cultureMixFor(country: string): CultureMix {
  return MIXES[country] ?? DEFAULT_MIX;
}
